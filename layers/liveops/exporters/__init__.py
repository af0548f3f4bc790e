"""`liveops export`: an app's figures over a range as JSON and CSV artifacts for CI pipelines.

- artifacts.py: the artifacts of a Figures (names checked safe) and the request's checks;
- writers.py: where artifacts go (JSON files, CSV files, an S3 upload), one writer each;
- fanout.py: every writer runs, a failure in one never stops the others; the summary;
- ci.py: the metadata file a CI upload step reads (and GitHub Actions step outputs);
- run.py: the whole export, from a checked request to a summary and an exit status.
"""
