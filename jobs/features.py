"""Raw sensor recordings (.csv, .npy samples at a known rate) -> feature streams for `model.input_kind=features`:
`pipelines.data.sensors_cli` (also `streamer-features`).

    python jobs/features.py --input raw/ --rate 50 --dest s3://bucket/sensors [--snippet 0.5] [--drop time]
"""
from pipelines.data.sensors_cli import main

if __name__ == "__main__":
    raise SystemExit(main())
