"""One package per model: its declaration (``model``) and what its artifact is built from."""
