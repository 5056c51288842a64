"""General rules of the classifier, one test each, on text written here (not corpus titles).

Each rule came from an error on an independently written set (tests/data/holdout_b.jsonl,
holdout_c.jsonl); the tests state the rule, so a later change that breaks it says which.
"""

from __future__ import annotations

import pytest

from watcher.classify import classify


def places(v) -> set[tuple[str, str]]:
    return {(j.name, j.state) for j in v.jurisdictions}


# --- relevance: what makes an item about sanctuary policy without the word -------------------------------

@pytest.mark.parametrize(("title", "summary"), [
    ("Justice Department gives five cities until June to prove immigration cooperation",
     "The letters warn the cities could forfeit police grants."),
    ("Court restores immigration conditions on police grants",
     "A divided panel said the department may attach the requirements."),
    ("Justice Department asks three cities whether ICE officers may enter their jails",
     "Each city must answer whether immigration officers are allowed into its jails and given notice before "
     "releasing inmates."),
    ("County executive orders airport to stop servicing deportation charters",
     "The order bars leaseholders from servicing flights operated for Immigration and Customs Enforcement."),
    ("New state law makes two counties end their ICE detention contracts",
     "The sheriffs must cancel the agreements by January."),
    ("Mayor bars ICE from using city parking lots as staging areas",
     "The order also creates ICE-free zones around schools."),
    ("Memo says local officials who refuse to comply with lawful immigration requests can be investigated",
     "Prosecutors were told to look at obstruction charges."),
])
def test_relevant_without_the_word_sanctuary(title, summary):
    assert classify(title, summary).relevant


@pytest.mark.parametrize(("title", "summary"), [
    ("Refugee agency gives immigrants legal help", "The nonprofit assists families with asylum paperwork."),
    ("County renews contract for jail food service", "The sheriff said the deal saves money."),
])
def test_immigration_words_alone_do_not_make_it_relevant(title, summary):
    assert not classify(title, summary).relevant


# --- kinds -------------------------------------------------------------------------------------------------

def test_an_order_or_conditions_dropped_is_policy():
    v = classify("President rescinds order that sought to defund sanctuary cities",
                 "The new administration tore up the 2017 directive that tried to cut federal grants to cities "
                 "limiting cooperation with ICE.")
    assert v.kind == "policy"
    v = classify("Justice Department drops immigration conditions on police grants",
                 "Cities will no longer have to give ICE jail access to receive Byrne JAG awards.")
    assert v.kind == "policy"


def test_new_enforcement_guidelines_are_policy():
    v = classify("Homeland Security issues new enforcement priorities",
                 "The secretary issued guidelines telling officers to focus on public-safety threats, which "
                 "sanctuary counties said could mean fewer detainers.")
    assert v.kind == "policy"


def test_a_sheriff_announcing_which_detainers_he_will_honor_is_policy():
    v = classify("Sheriff will no longer honor most ICE detainer requests",
                 "The sheriff said the jail will only hold people for immigration agents when they face charges "
                 "of violent felonies.")
    assert v.kind == "policy"


def test_a_memo_that_threatens_funds_is_a_funding_threat():
    v = classify("Attorney general issues memo on sanctuary jurisdictions",
                 "The memorandum directs department components to pause the distribution of funds to sanctuary "
                 "jurisdictions and review their grants.")
    assert v.kind == "funding_threat"


def test_a_letter_to_every_recipient_is_not_a_letter_to_named_places():
    v = classify("Secretary warns every recipient of transit money to help ICE",
                 "In a letter, the secretary said all recipients of department grants must cooperate with "
                 "immigration enforcement or risk losing funds.")
    assert v.kind == "funding_threat"


def test_what_letters_set_makes_them_letters():
    v = classify("Justice Department threatens subpoenas to sanctuary cities",
                 "The department demanded records from Denver and Chicago. The letters set a March deadline and "
                 "say refusal could jeopardize Byrne JAG grants.")
    assert v.kind == "letter"


def test_a_response_to_a_suit_filed_today_is_the_lawsuit():
    v = classify("Governor responds to federal lawsuit over state sanctuary directive",
                 "The governor said the state will defend its Trust Directive against the lawsuit the Justice "
                 "Department filed this morning.")
    assert v.kind == "lawsuit"


def test_a_reaction_to_a_dismissal_is_the_ruling():
    v = classify("Mayor's statement on dismissal of federal lawsuit against the city's sanctuary ordinance",
                 "The mayor praised a federal judge's decision throwing out the administration's lawsuit against "
                 "the city.")
    assert v.kind == "ruling"


def test_officials_who_should_be_arrested_is_a_legal_threat():
    v = classify("President says governor should be arrested for blocking deportations",
                 "He endorsed arresting the governor, who defends the state's law limiting police cooperation "
                 "with ICE, as troops deployed amid raids.")
    assert v.kind == "legal_threat"


def test_a_mayors_raid_warning_referred_to_prosecutors_is_a_legal_threat():
    v = classify("ICE wants Justice Department to review mayor's raid warning",
                 "The agency asked the Justice Department to look into whether the mayor obstructed officers "
                 "during this week's operation in the city.")
    assert v.kind == "legal_threat"


def test_operations_plural_are_enforcement():
    v = classify("ICE begins enhanced targeted operations in a sanctuary city",
                 "Officers said the city's policies keep them from taking custody of people at local jails.")
    assert v.kind == "enforcement"


def test_a_speech_at_a_conference_is_a_statement():
    v = classify("Border czar escalates feud with sanctuary city at conservative conference",
                 "He told the conference he would bring more agents, and said the city's Trust Act forces "
                 "officers to make arrests in neighborhoods.")
    assert v.kind == "statement"


def test_a_mayors_news_conference_is_a_statement():
    v = classify("Mayor offers City Hall as refuge for immigrants",
                 "At a news conference the mayor said the city would keep its Trust Act, an ordinance that limits "
                 "police cooperation with immigration agents.")
    assert v.kind == "statement"


# --- jurisdictions -------------------------------------------------------------------------------------------

def test_a_governor_by_first_and_last_name_where_the_surname_is_shared():
    v = classify("Voters keep state sanctuary law", "Gov. Kate Brown had campaigned against the repeal measure, "
                 "which would have ended limits on police cooperation with immigration agents.")
    assert ("Oregon", "OR") in places(v) and ("California", "CA") not in places(v)


def test_washington_as_the_federal_government_is_not_the_state():
    v = classify("Two counties sue Illinois to keep ICE detention contracts",
                 "McHenry County and Kankakee County argue that detention is a matter Congress reserved to Washington.")
    assert ("Washington", "WA") not in places(v)
    v = classify("Washington state sues over sanctuary grant conditions",
                 "Washington and Oregon said the immigration conditions on police grants are unlawful.")
    assert ("Washington", "WA") in places(v)


def test_new_york_is_the_city_when_its_mayor_speaks_or_the_other_places_are_cities():
    v = classify("Mayor Eric Adams wants to loosen sanctuary protections",
                 "Adams said New York should hand migrants accused of violent crimes to immigration agents.")
    assert places(v) == {("New York City", "NY")}
    v = classify("ICE sweep of sanctuary cities nets 400",
                 "Los Angeles accounted for 90 of the arrests and New York for 40, the agency said.")
    assert places(v) == {("Los Angeles", "CA"), ("New York City", "NY")}


def test_a_first_name_in_a_list_of_mayors_is_not_a_town():
    v = classify("Committee invites mayors of sanctuary cities to testify",
                 "The chairman sent letters to Mayors Michelle Wu of Boston, Brandon Johnson of Chicago and Mike "
                 "Johnston of Denver. The Kentucky Republican said the committee is investigating.")
    assert places(v) == {("Boston", "MA"), ("Chicago", "IL"), ("Denver", "CO")}


def test_a_state_that_locates_a_place_the_gazetteer_lacks():
    v = classify("Homan vows to bring more agents to Boston",
                 "Speaking in National Harbor, Maryland, he criticized Boston's Trust Act and its limits on police "
                 "cooperation with ICE.")
    assert ("Maryland", "MD") not in places(v) and ("Boston", "MA") in places(v)


def test_a_capitalised_word_that_is_a_small_town_at_a_sentence_start():
    v = classify("ICE arrests 100 released under California sanctuary law",
                 "The operation targeted people freed despite detainers. Agency leaders said the state law forced "
                 "officers into neighborhoods.")
    assert places(v) == {("California", "CA")}


def test_a_city_as_a_modifier_is_not_a_party():
    v = classify("Attorney general says sanctuary cities could lose police grants",
                 "He recalled a shooting on a San Francisco pier by a man deported five times.")
    assert ("San Francisco", "CA") not in places(v)


def test_a_city_named_by_whose_council():
    v = classify("Cities protest their place on DHS sanctuary list",
                 "Huntington Beach, whose council declared the city non-sanctuary, demanded a correction.")
    assert ("Huntington Beach", "CA") in places(v)
