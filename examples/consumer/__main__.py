"""The consumer stack's entry point: everything is in consumer_stack.py, so tests can import it."""

from consumer_stack import deploy

deploy()
