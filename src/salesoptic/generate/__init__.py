"""Synthetic sources for SalesOptic: landing-zone files, PostgreSQL tables, ground truth.

``generate(spec, source_dir, pg_url)`` writes one batch; ``generate_command`` is the CLI.
"""

from salesoptic.generate.runner import Summary, generate
from salesoptic.generate.scales import SCALES, GenerateSpec

__all__ = ["SCALES", "GenerateSpec", "Summary", "generate"]
