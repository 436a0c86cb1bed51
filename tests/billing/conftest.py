import pytest


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """Run what a block schedules on commit (email tasks, with the immediate backend), as production would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run
