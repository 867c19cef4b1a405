"""ClaSP over the series of an ``.npz`` file (``arr_0``, ``arr_1``, ...; each ``[N, C]``) with the
options given as a JSON object (keyword arguments of claspy's BinaryClaSPSegmentation), run by
claspy's own interpreter (see ``pipelines.evaluate.baselines``): prints one JSON list per series of
segment ends (snippet indices). Imports nothing of this project, which that interpreter lacks."""
import json
import sys

import numpy as np
from claspy.segmentation import BinaryClaSPSegmentation


def segment_ends(series: np.ndarray, options: dict) -> list[int]:
    """ClaSP's change points, or none for a series too short for its smallest window."""
    if len(series) < 20:
        return []
    try:
        found = BinaryClaSPSegmentation(n_jobs=1, **options).fit_predict(series.squeeze())
    except ValueError:  # claspy refuses series its window-size search cannot cover
        return []
    return [int(i) for i in found]


if __name__ == "__main__":
    options = json.loads(sys.argv[2])
    with np.load(sys.argv[1]) as data:
        print(json.dumps([segment_ends(data[f"arr_{k}"], options) for k in range(len(data.files))]))
