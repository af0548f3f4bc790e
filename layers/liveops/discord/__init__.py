"""Discord: the interactions front (signature check, PING, dispatch) and what it builds on.

This package's __init__ imports nothing: the front function loads only the modules it uses.
"""
