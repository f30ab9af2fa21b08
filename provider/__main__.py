"""The plugin's entry point: the language host runs it with the engine's address as argument."""

from aion_provider import serve

if __name__ == "__main__":
    serve()
