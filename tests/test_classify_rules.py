"""General rules of the classifier, one test each, on text written here (not corpus titles).

Each rule came from an error on an independently written set (tests/data/holdout_b.jsonl to
holdout_f.jsonl); the tests state the rule, so a later change that breaks it says which.
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
    # a law that limits the role of local police in immigration enforcement
    ("Governor signs bill limiting the local role in federal immigration enforcement",
     "Police may not enter agreements to enforce civil immigration law without the governor's approval."),
    # a sheriff who no longer cooperates with the agency
    ("ICE faults county for a rise in arrests in neighborhoods",
     "The agency said the county sheriff no longer cooperates with it, so officers must find people at home."),
    # a council's decision on a 287(g) agreement, and a threat of removal from office over it
    ("Council members could be removed from office over 287(g) vote",
     "The state attorney general wrote after the council rejected a 287(g) agreement."),
    # a person released rather than handed to immigration authorities
    ("Attorney general faults city after acquittal in pier shooting",
     "He said the city had released the man rather than hand him over to immigration authorities."),
    # the notice-and-access conditions on justice grants, named without the word immigration
    ("Appeals court upholds order blocking grant conditions",
     "The panel said the department could not attach the notice and access requirements to Byrne JAG funds."),
    # limits on cooperation with federal authorities, in an item about an ICE operation
    ("ICE announces 900 arrests in month-long state operation",
     "The agency said state policies that limit cooperation with federal authorities forced officers to make "
     "arrests in neighborhoods."),
    # an obstruction of immigration-related requests, threatened with charges
    ("Deputy attorney general tells prosecutors to investigate obstruction by local officials",
     "Officials who obstruct lawful immigration-related requests may be charged, the memo says."),
    # governors defending their immigration policies before a congressional committee
    ("Governors defend immigration policies before House Oversight Committee",
     "Republicans accused the governors of protecting criminals."),
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


# --- this session's rules from the local, federal and long-article sets (d, e, f) --------------------------

def test_a_body_alone_does_not_make_an_article_relevant():
    """An article on another topic whose body recalls sanctuary fights in passing is about its topic."""
    body = ("Health departments in 23 states said the cuts would end vaccination clinics and disease tracking. "
            "The suit recalls last year's fight over sanctuary cities, when the states sued over grants tied to "
            "immigration detainers and limits on cooperation with ICE. "
            "The states asked the court to restore the grants while the case proceeds.")
    v = classify("States sue over cuts to public health grants",
                 "A coalition of states said the sudden cancellation of health funds is unlawful.", body)
    assert not v.relevant
    # the same body behind a title with no summary is the item's own text, read as before
    assert classify("States sue over cuts to public health grants", "", body).relevant
    # and a summary that is only the body's opening (a feed's excerpt) is no summary of its own
    assert classify("States sue over cuts to public health grants", body[:120] + " …", body).relevant
    # a title or summary with a signal of its own lets the body count in full
    assert classify("States sue over cuts to grants tied to immigration detainers",
                    "A coalition of states said the cancellation is unlawful.", body).relevant


def test_a_jail_that_will_honor_detainers_only_in_some_cases_is_policy():
    v = classify("Sheriff announces revised jail policy on immigration detainers",
                 "The jail will honor ICE detainer requests only for people charged with violent felonies.")
    assert v.kind == "policy"


def test_an_official_restricting_police_cooperation_is_policy():
    v = classify("State attorney general restricts police cooperation with ICE",
                 "Officers may no longer ask about immigration status during traffic stops.")
    assert v.kind == "policy"


def test_no_longer_enforcing_grant_conditions_is_policy():
    v = classify("Justice Department will no longer enforce immigration conditions on police grants",
                 "Cities whose awards were withheld may now draw down their funds.")
    assert v.kind == "policy"


def test_a_sanctuary_rule_is_not_a_court_ruling():
    v = classify("Justice Department takes four cities to court over sanctuary rules",
                 "The department filed suit in federal court against the cities, saying their rules shield people "
                 "from immigration agents.")
    assert v.kind == "lawsuit"


def test_appealing_a_ruling_is_a_lawsuit():
    v = classify("State appeals ruling that blocked its sanctuary cities ban",
                 "The attorney general asked the appeals court to let the law take effect.")
    assert v.kind == "lawsuit"


def test_an_order_that_only_does_something_is_not_a_court_order():
    v = classify("Congressman asks Justice Department to investigate mayor over ICE reporting order",
                 "He said the order only helps people avoid immigration agents and flouts the state's "
                 "sanctuary ban.")
    assert v.kind == "legal_threat"


def test_jurisdictions_told_in_writing_received_a_letter():
    v = classify("Justice Department gives three sanctuary cities until June to prove compliance",
                 "The department told them in writing to show they do not block officers from sharing "
                 "immigration status with federal agents.")
    assert v.kind == "letter"


def test_a_statement_by_an_official_on_a_criminal_verdict_is_a_statement():
    v = classify("Statement by the Attorney General on the verdict in the pier shooting case",
                 "He said the jury's acquittal showed the cost of sanctuary policies. The defendant had been freed "
                 "from the city jail in 2015 despite a federal request to hold him.")
    assert v.kind == "statement"


def test_arrests_explained_by_earlier_sheriff_decisions_are_enforcement():
    v = classify("ICE arrests 150 across the state in a week of operations",
                 "The field office director said the arrests were a direct result of decisions by two sheriffs to "
                 "stop honoring detainers.")
    assert v.kind == "enforcement"


def test_governors_defending_policies_at_a_hearing_make_a_statement():
    v = classify("Governors defend sanctuary policies before House Oversight Committee",
                 "The chairman said the hearing was part of a broader investigation into sanctuary states.")
    assert v.kind == "statement"


@pytest.mark.parametrize(("summary", "incidental"), [
    ("The sheriff announced the sanctuary policy at a news conference in downtown Austin.", ("Austin", "TX")),
    ("Clark County, home of Las Vegas, received a sanctuary city letter.", ("Las Vegas", "NV")),
    ("U.S. District Judge Ann Lee, sitting in San Antonio, blocked the Texas sanctuary cities ban.",
     ("San Antonio", "TX")),
    ("The Tennessee sanctuary bill passed at the state Capitol in Nashville.", ("Nashville", "TN")),
    ("The man was held on an ICE detainer at Boston Municipal Court; the state's law forbids it.",
     ("Boston", "MA")),
    ("A Colorado district judge ruled that El Paso County may not honor ICE detainers.", ("Colorado", "CO")),
])
def test_venues_and_scenes_are_not_parties(summary, incidental):
    v = classify("Sanctuary policy news", summary)
    assert v.relevant and incidental not in places(v)


def test_a_preposition_in_a_title_case_headline_is_not_a_town():
    v = classify("Attorney General Issues Directive to Build Trust Between Police and Immigrants",
                 "The directive limits how local police may help ICE.")
    assert ("Between", "GA") not in places(v)


def test_a_first_name_with_a_middle_initial_is_not_a_town():
    v = classify("Complaint filed: United States v. State of New Jersey, Philip D. Murphy and Gurbir S. Grewal",
                 "The United States sued over the state's directive limiting cooperation with ICE.")
    assert ("Philip", "SD") not in places(v) and ("New Jersey", "NJ") in places(v)


def test_new_york_beside_new_york_city_is_the_state():
    v = classify("Appeals court revives immigration conditions on police grants",
                 "The ruling reversed a win for New York, New York City and six other states in the sanctuary case.")
    assert {("New York", "NY"), ("New York City", "NY")} <= places(v)


def test_an_ambiguous_county_is_read_in_the_state_of_the_big_city_named():
    v = classify("ICE arrests man released by Montgomery County despite detainer",
                 "Officers in Baltimore arrested him after the county jail released him without honoring the "
                 "detainer.")
    assert ("Montgomery County", "MD") in places(v)
