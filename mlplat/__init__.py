"""mlplat, the tool a user runs: today the runtime client (``mlplat.client``)."""
