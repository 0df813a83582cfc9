"""The domain core: plain functions over plain values. No Flask, no database session."""
