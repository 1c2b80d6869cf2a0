"""opsdata: the data layer of an AI-assisted operations dashboard for a Shopify store."""

__version__ = "0.1.0"
