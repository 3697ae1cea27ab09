"""The codemods: one per module, found by convention (see ``testsec_fix.registry``)."""
