"""User model files for tests/worker/test_user_models.py (importable as tests.data.user_models)."""
