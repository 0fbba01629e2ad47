"""Analysis stage: transcript -> expressions -> difficulty -> vocabulary stock.

Offline engine (no network, no LLM): ``schemas`` (shared pydantic models, also the LLM
output schemas), ``tokenizer`` (Sudachi), ``dictionary`` (JMdict/KANJIDIC via jamdict's
SQLite), ``lexicon`` (our curated slang lexicon and grammar patterns), ``offline_extractor``,
``levels``, ``readability`` and ``gold`` (precision/recall scoring).  Modules are imported
explicitly; nothing heavy is loaded here.
"""
