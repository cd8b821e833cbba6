"""The numbers identity decides by, in one place: set by ``bench/identity_eval.py`` on the labelled pairs (figures in
``bench/README.md``). Change one and rerun the evaluation."""

NEAR_DICE = 0.6            # token Dice at or above which two headlines are one story (guards permitting)
NEAR_CONTAINMENT = 0.75    # ... or this share of the shorter headline's tokens found in the longer one
SPECIFIC_CHARS = 13        # a core shorter than this is matched only exactly (slogans are short)
NEAR_MIN_CHARS = 8         # no near-duplicate decisions at all below this many folded characters
CLOSE_DICE = 0.8           # a near-duplicate this close may be the same item (same outlet, no second URL)
CLOSE_EXTRA_CHARS = 6      # ... or the longer one only adds this many characters to the shorter one
MIN_FRAGMENT = 8           # folded characters a cut-short title needs before it is matched by its beginning
CUT_PREFIX = 6             # characters of a fragment its index key is made of (the seed rule accepts 6)
TAG_MIN_REMAINDER = 10     # a bracketed tag is dropped only when this much headline follows it
QUICK_DICE = 0.5           # quick_score: below NEAR_DICE, on character bigrams of the stored key
QUICK_CONTAINMENT = 0.65
