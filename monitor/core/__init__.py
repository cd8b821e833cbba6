"""The bottom layer every other may import, and which imports nothing of ours above it.

The data model (``model``: ``RawItem``, ``Item``; ``page``: ``Page``, read once from bytes), the error tree
(``errors``), and the text rules every part shares: folding Chinese text (``fold``), outlet suffixes and identity
keys (``outlets``), URLs (``urls``), dates (``dates``), encodings (``encoding``) and gzip bodies (``gunzip``).
"""
