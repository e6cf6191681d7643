"""Every durable-rules limit pingji stays inside, in one place.

Each number is either a limit of durable-rules 2.0.28 itself or pingji's margin below one; the
comment on each cites /work/shared/DURABLE_RULES.md (the section and, where there is one, the
durable-rules issue number) for what happens past it.
"""

from __future__ import annotations

# DURABLE_RULES.md, "Sessions and facts": a ruleset holds at most 1,024 live sessions; the next
# raises MemoryError (older builds segfault). Keep a margin below it.
MAX_LIVE_SESSIONS = 1000

# Not an engine limit but a guard of pingji's wave loop (runtime.ruleset): the rating chain is at
# most ~8 waves deep, so more means a rule loop. DURABLE_RULES.md, "Sessions and facts": there is
# no truth maintenance, so a rulebook that concludes what it matched can loop for ever.
MAX_WAVES = 64
MAX_FIRINGS = 100_000

# DURABLE_RULES.md, "Rules and rulesets": a ruleset with more than 512 distinct first-level
# conditions hangs for ever while being created; others report error 303 at ~483 rules (#312).
# Stay well below both.
MAX_CONDITIONS = 440
MAX_RULES = 440

# DURABLE_RULES.md, "Sessions and facts": more than ~64-80 conditions true at once for one fact
# fail with error 303; every override rule and the final rule match the model-grade fact.
MAX_OVERRIDES = 48

# DURABLE_RULES.md, "Sessions and facts": a fact with more than ~253 top-level properties is
# refused (error 302, #300).
MAX_FACT_PROPERTIES = 253
# The override inputs are one fact, whose values the override conditions test. When they all hold,
# each is a condition true at once on that fact (DURABLE_RULES.md: error 303 past ~64-80).
# Measured (tests/test_limits.py): 64 values in all, every one true, run; 65 fail with error 303 at
# run time, whether in one override or spread over several. So the limit is on all the overrides'
# values together (it was 200 until a just-under test found 65-200 failing), and one override
# cannot look at more than all of them.
MAX_TRUE_AT_ONCE = 64
MAX_OVERRIDE_FIELDS = MAX_TRUE_AT_ONCE
MAX_CONDITION_TERMS = MAX_TRUE_AT_ONCE

# Decision rulebooks (pingji.decisions.compile): a rule's condition reads one fact of its chunk; the
# rules are spread over chunks of at most 40 rules whose conditions look at most at
# MAX_TRUE_AT_ONCE values together (the same error 303, measured the same way: 64 run, 65 fail).
# At most 400 rules and 40 outputs in one rulebook (the ruleset-size hang above).
DECISION_RULES_PER_FACT = 40
DECISION_TERMS_PER_FACT = MAX_TRUE_AT_ONCE
MAX_DECISION_RULES = 400
MAX_DECISION_OUTPUTS = 40

# DURABLE_RULES.md, "Rules and rulesets": a join (`all` of several facts) wider than 16 facts
# fails at run time (17: error 307 from start_action_for_state; 18 or more: error 304) though
# the ruleset is created without complaint. A group joins its factors' scores and the total
# joins the groups, so neither may have more than 16 members.
MAX_JOIN = 16
