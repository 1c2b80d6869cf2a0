"""ETL pipelines: source exports turned into data opsdata serves."""
