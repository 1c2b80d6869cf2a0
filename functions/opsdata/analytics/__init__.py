"""Commerce analytics: product affinity and baselines (the SQL lives in sql/functions/)."""
