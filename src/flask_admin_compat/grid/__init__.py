"""The merged grid: its model, the merge of cell results into it, and the diff of two grids."""
