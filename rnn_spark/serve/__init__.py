"""Using a trained model: load by URI, evaluate, predict at scale, generate, export, inspect.

    import rnn_spark as rs
    tm = rs.load_model("runs/lm")            # run dir, model/, best/ or a checkpoint; hdfs:// too
    print(tm.evaluate("runs/data", split="val").metrics)
    print(tm.generate(prime="The ", length=200, seed=1).samples[0])
"""

from rnn_spark.serve.load import ModelSource, TrainedModel, load_model

__all__ = ["ModelSource", "TrainedModel", "load_model"]
