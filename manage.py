#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sys.argv[1:2] == ["makemigrations"]:
        # It reads the models only, never a secret or a host: it runs without production's
        # variables (as a bare `manage.py makemigrations --check` from CI or an editor does).
        os.environ.setdefault("SECRET_KEY", "unused-by-makemigrations")
        os.environ.setdefault("ALLOWED_HOSTS", "localhost")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
