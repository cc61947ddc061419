"""The `mlplat cost`/`prices` commands: reports, comparisons against a base, and the snapshot's
refresh from the AWS Price List API. The estimator they run is ``cost_model`` (shared with the
policy pack)."""
