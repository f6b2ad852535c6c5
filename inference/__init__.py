"""Serving the trained model: the model server (``serving``), the digest every served model
must have (``integrity``) and the deploy-on-approval function (``on_approval``).

Nothing here imports ``training_pipeline``: the inference image copies ``serving`` and
``integrity`` alone (see ``serving/Dockerfile``), the Lambda zip ``on_approval`` and ``integrity``.
"""
