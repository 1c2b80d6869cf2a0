"""Scheduled and queue entry points for AWS Lambda. Thin: parse the event, call one function."""
