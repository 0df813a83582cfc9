"""CDISC ODM 1.3.2: study metadata out (metadata.py) and back into definitions (importer.py)."""
