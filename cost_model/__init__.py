"""What an export costs: the export read as a graph, the price snapshot, the estimator and the
budgets checked against its estimate.

Below both of its readers: the policy pack (``estimated-cost-within-budget``) and the tool
(``mlplat cost``, the change report), so neither imports the other for it. It imports only the
domain (``infra.declarations``, ``infra.layers``, the EKS support calendar).
"""
