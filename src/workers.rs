//! Worker sizing: how many gunicorn workers fit the container.
