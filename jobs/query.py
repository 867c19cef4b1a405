"""Query the segment job's tables with DuckDB: `pipelines.results.cli` (also `streamer-query`).

    python jobs/query.py --output s3://results/streamer "SELECT count(*) FROM events"
    python jobs/query.py --output s3://results/streamer --example at_time --param video_id=a.mp4 --param t=12.5
    python jobs/query.py --list          # the named examples and their SQL
"""
from pipelines.results.cli import query_main

if __name__ == "__main__":
    raise SystemExit(query_main())
