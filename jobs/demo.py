"""The whole product on one machine (README command 1, via scripts/demo.sh): `pipelines.demo` (also `streamer-demo`).

    python jobs/demo.py [--videos 6] [--set section.key=value ...] [--keep-running] [-v]
"""
from pipelines.demo import main

if __name__ == "__main__":
    raise SystemExit(main())
