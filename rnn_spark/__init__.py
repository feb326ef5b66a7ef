"""rnn-spark: recurrent networks trained on HDFS sequence data with Apache Spark.

Example::

    import rnn_spark as rs
    model = rs.Model(rs.ModelConfig(cell="lstm", vocab_size=96, embedding_size=64,
                                    hidden_sizes=[256], output_size=96, task="lm"), seed=0)
"""

__version__ = "0.1.0"

from rnn_spark.engine import Model, ModelConfig  # noqa: E402  (pure NumPy, cheap to import)


def load_model(uri: str):
    """A trained model by URI (run dir, model/, best/ or a checkpoint): see rnn_spark.serve."""
    from rnn_spark.serve import load_model as _load

    return _load(uri)


__all__ = ["Model", "ModelConfig", "load_model", "__version__"]
