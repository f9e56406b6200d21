"""kb-app: local knowledge-base question answering for Chinese documents."""

__version__ = "0.1.0"
