"""The driver of test_table_yarn.py, run by spark-submit on YARN (client mode): a table stored as
Parquet in HDFS -> `ingest table` on YARN -> RNNClassifier.fit (Spark runner, then inline) ->
transform -> save -> load -> transform. Prints one JSON line.

    table_job.py ROOT    (ROOT/events: the Parquet table; everything else is written under ROOT)
"""

import hashlib
import io
import json
import sys

import numpy as np
from pyspark.sql import SparkSession

from rnn_spark import fs
from rnn_spark.ingest.table import ingest_table
from rnn_spark.ml import RNNClassificationModel, RNNClassifier

root = sys.argv[1]
spark = SparkSession.builder.getOrCreate()
spark.sql(f"CREATE TABLE events USING parquet LOCATION '{root}/events'")
ingest_table(f"{root}/data-yarn", table="events", group_by=["user"], order_by="ts",
             categorical=["event"], label="bought", max_len=6, val_fraction=0.25,
             rows_per_group=32)

# one sequence per user, made by Spark SQL: the events in time order as ids
seqs = spark.sql("""
    SELECT user, transform(array_sort(collect_list(struct(ts, CASE event WHEN 'cart' THEN 1
             WHEN 'buy' THEN 2 WHEN 'view' THEN 3 WHEN 'home' THEN 4 ELSE 5 END AS id))),
             x -> x.id) AS features,
           CAST(first(bought) AS DOUBLE) AS label
    FROM events GROUP BY user""")


def digest(uri):
    with np.load(io.BytesIO(fs.read_bytes(fs.join(uri, "weights.npz"))), allow_pickle=False) as z:
        return {k: hashlib.sha256(z[k].tobytes()).hexdigest() for k in sorted(z.files)}


def predictions(model):
    return [r.prediction for r in model.transform(seqs).orderBy("user").collect()]


out = {}
for runner in ("spark", "inline"):
    clf = RNNClassifier(runDir=f"{root}/runs-{runner}", runner=runner, hiddenSizes=[16],
                        embeddingSize=8, epochs=2, batchSize=16, workers=2, seed=1, lr=0.01)
    model = clf.fit(seqs)
    saved = f"{root}/model-{runner}"
    model.write().save(saved)
    back = RNNClassificationModel.load(saved)
    out[runner] = {"weights": digest(model.modelUri), "saved": digest(saved),
                   "model": model.modelUri, "predictions": predictions(model),
                   "loaded": predictions(back), "labels": [r.label for r in
                                                           seqs.orderBy("user").collect()]}
print(json.dumps(out))
