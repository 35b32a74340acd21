"""Parent-side orchestration: sessions over a worker, the matrix, file runs."""
