"""A handler that imports nothing: the floor of a cold import."""


def handler(event: dict, context: object) -> dict:
    return {}
