"""AWS sessions per account, the embedded AWS (moto's server) and IAM policy evaluation."""
