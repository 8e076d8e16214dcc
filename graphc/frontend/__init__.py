"""The Python builder: handles with operators, op functions, gc.function."""
