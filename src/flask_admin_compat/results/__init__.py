"""One cell's result: its model, the JUnit reports it is read from, and its verdict."""
