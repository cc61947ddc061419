"""Cost estimates: the price snapshot, its refresh from the AWS Price List API, the estimator
over a captured graph, budgets against estimates, and the `mlplat cost`/`prices` commands."""
