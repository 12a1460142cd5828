# ruff: noqa: E501  (the indicator table reads best one indicator per line)
"""The demonstration glossary: indicators as the observatory defines them, plus how to simulate
each one (base count around rate x population, binomial share of another count, ratio, or
amount), so that the definitions and the generated data cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

BREAK_INDICATOR = "ft_defm_rsa"
BREAK_PERIOD = "2025-Q1"
BREAK_JUMP = 0.45
BREAK_NOTE = ("À partir de janvier 2025, les allocataires du RSA sont inscrits automatiquement "
              "à France Travail (loi pour le plein emploi du 18 décembre 2023) : les effectifs "
              "ne sont pas comparables avant et après cette date.")


@dataclass(frozen=True)
class Spec:
    """One indicator: glossary fields, provider's own label, and simulation parameters."""

    code: str
    label: str
    definition: str
    provider: str
    source: str
    kind: str = "count"
    unit: str = "nombre"
    people: str = "personnes"
    polarity: str = "up_is_bad"
    rate: float = 0.0          # base count: expected count per inhabitant per period
    of: str | None = None      # binomial share of this count, or the rate's denominator
    p: float = 0.0             # binomial probability (share of ``of``)
    num: str | None = None     # ratio numerator
    gradient: float = 0.0      # log-effect of neighbourhood deprivation (centred)
    trend: float = 0.0         # relative change per year
    season: float = 0.0        # relative seasonal amplitude (monthly/quarterly)
    peak: int = 0              # season index of the peak
    nb_k: float | None = None  # negative-binomial dispersion (None: Poisson)
    secrecy: int | None = None


# National rates per 1,000 inhabitants, raised for a dense urban agglomeration.
POLICE_URBAN = 1.6
PERIODICITY = {"caf": "monthly", "police": "monthly", "france-travail": "quarterly",
               "education": "annual", "bailleur": "annual", "cpam": "annual"}
THEME = {"caf": "precarite", "police": "securite", "france-travail": "emploi",
         "education": "education", "bailleur": "accessibilite", "cpam": "sante"}


def _caf() -> list[Spec]:
    c = "caf"
    f = "foyers"
    return [
        Spec("caf_allocataires", "Allocataires CAF", "Nombre de foyers allocataires percevant au moins une prestation de la CAF au dernier jour du mois.", c, "Nb allocataires", people=f, polarity="neutral", rate=0.16, gradient=0.6, trend=0.005),
        Spec("caf_personnes_couvertes", "Personnes couvertes par la CAF", "Allocataires, conjoints, enfants et autres personnes à charge des foyers allocataires.", c, "Personnes couvertes", polarity="neutral", rate=0.42, gradient=0.5, trend=0.004),
        Spec("caf_allocataires_enfants", "Allocataires avec enfant(s)", "Foyers allocataires ayant au moins un enfant à charge au sens des prestations familiales.", c, "Allocataires avec enfants", people=f, polarity="neutral", of="caf_allocataires", p=0.45, gradient=0.2),
        Spec("caf_familles_monoparentales", "Familles monoparentales allocataires", "Allocataires isolés (sans conjoint) ayant au moins un enfant à charge.", c, "Familles monoparentales", people=f, of="caf_allocataires_enfants", p=0.25, gradient=1.2, trend=0.01),
        Spec("caf_part_monoparentales", "Part des familles monoparentales parmi les allocataires avec enfants", "Familles monoparentales allocataires rapportées aux allocataires avec enfant(s), en %.", c, "Part monoparentales (%)", kind="rate", unit="%", people=f, num="caf_familles_monoparentales", of="caf_allocataires_enfants"),
        Spec("caf_familles_nombreuses", "Familles nombreuses allocataires", "Allocataires ayant trois enfants ou plus à charge.", c, "Familles 3 enfants et +", people=f, polarity="neutral", of="caf_allocataires_enfants", p=0.18, gradient=0.8),
        Spec("caf_rsa", "Allocataires du RSA", "Foyers allocataires percevant le revenu de solidarité active (socle), droit versable au dernier jour du mois.", c, "Allocataires RSA", people=f, of="caf_allocataires", p=0.11, gradient=1.6, trend=-0.01, season=0.015, peak=0),
        Spec("caf_rsa_majore", "Allocataires du RSA majoré", "Foyers percevant le RSA majoré pour isolement (parent isolé avec enfant à charge ou à naître).", c, "RSA majoré", people=f, of="caf_rsa", p=0.12, gradient=0.5),
        Spec("caf_aah", "Allocataires de l'AAH", "Foyers allocataires percevant l'allocation aux adultes handicapés.", c, "Allocataires AAH", people=f, polarity="neutral", of="caf_allocataires", p=0.07, gradient=0.6, trend=0.02),
        Spec("caf_prime_activite", "Allocataires de la prime d'activité", "Foyers percevant la prime d'activité, complément de revenus des travailleurs modestes.", c, "Prime d'activité", people=f, polarity="neutral", of="caf_allocataires", p=0.2, gradient=0.4, trend=0.03),
        Spec("caf_aides_logement", "Allocataires d'une aide au logement", "Foyers percevant une aide personnelle au logement (APL, ALF ou ALS).", c, "Aides au logement", people=f, polarity="neutral", of="caf_allocataires", p=0.38, gradient=1.0, trend=-0.01, season=0.01, peak=9),
        Spec("caf_bas_revenus", "Allocataires à bas revenus", "Foyers allocataires dont le revenu par unité de consommation est inférieur au seuil de bas revenus de la CNAF.", c, "Allocataires bas revenus", people=f, of="caf_allocataires", p=0.3, gradient=1.4),
        Spec("caf_part_bas_revenus", "Part des allocataires à bas revenus", "Allocataires à bas revenus rapportés à l'ensemble des allocataires, en %.", c, "Part bas revenus (%)", kind="rate", unit="%", people=f, num="caf_bas_revenus", of="caf_allocataires"),
        Spec("caf_dependance_50", "Allocataires dont les ressources dépendent à 50 % ou plus des prestations", "Foyers allocataires dont les prestations CAF représentent au moins la moitié des ressources (dépendance aux prestations ≥ 50 %).", c, "Dépendance 50% et +", people=f, of="caf_allocataires", p=0.2, gradient=1.5),
        Spec("caf_dependance_100", "Allocataires dont les ressources dépendent à 100 % des prestations", "Foyers allocataires dont les ressources sont constituées uniquement de prestations CAF.", c, "Dépendance 100%", people=f, of="caf_dependance_50", p=0.55, gradient=0.4),
        Spec("caf_part_dependance_50", "Part des allocataires dépendants à 50 % ou plus des prestations", "Allocataires dont les ressources dépendent à 50 % ou plus des prestations, rapportés à l'ensemble des allocataires, en %.", c, "Part dépendance 50% (%)", kind="rate", unit="%", people=f, num="caf_dependance_50", of="caf_allocataires"),
    ]


def _police() -> list[Spec]:
    def flow(code: str, label: str, definition: str, source: str, per_1000: float,
             gradient: float, season: float, peak: int, unit: str = "faits") -> Spec:
        return Spec(code, label, definition, "police", source, unit=unit, people="faits",
                    rate=per_1000 * POLICE_URBAN / 12000, gradient=gradient, season=season, peak=peak,
                    nb_k=8.0, trend=-0.01)
    return [
        flow("pol_cambriolages", "Cambriolages de logement", "Cambriolages de résidences principales et secondaires enregistrés par la police, par lieu de commission.", "Cambriolages de logement", 14, 0.4, 0.25, 0),
        flow("pol_vols_vehicules", "Vols de véhicules", "Vols de véhicules motorisés (automobiles, deux-roues) enregistrés.", "Vols de véhicules", 7, 0.8, 0.1, 7),
        flow("pol_vols_dans_vehicules", "Vols dans les véhicules", "Vols d'objets dans les véhicules enregistrés.", "Vols dans les véhicules", 16, 0.5, 0.15, 7),
        flow("pol_vols_accessoires", "Vols d'accessoires sur véhicules", "Vols d'accessoires (pièces, équipements) sur véhicules enregistrés.", "Vols d'accessoires sur véhicules", 5, 0.5, 0.1, 7),
        flow("pol_vols_sans_violence", "Vols sans violence contre des personnes", "Vols simples contre des particuliers, sans violence, enregistrés.", "Vols sans violence contre des personnes", 30, 0.3, 0.2, 6),
        flow("pol_vols_violents", "Vols violents sans arme", "Vols avec violence sans arme contre des particuliers.", "Vols violents sans arme", 3, 1.0, 0.1, 11),
        flow("pol_coups_blessures", "Coups et blessures volontaires", "Coups et blessures volontaires sur personnes de 15 ans ou plus, hors cadre familial.", "Coups et blessures volontaires", 10, 1.0, 0.15, 6),
        flow("pol_violences_intrafamiliales", "Violences intrafamiliales", "Coups et blessures volontaires sur personnes de 15 ans ou plus dans le cadre familial.", "Coups et blessures volontaires intrafamiliaux", 8, 0.8, 0.1, 7),
        flow("pol_violences_sexuelles", "Violences sexuelles", "Viols, tentatives et autres agressions sexuelles enregistrés.", "Violences sexuelles", 3, 0.5, 0.1, 6, unit="victimes"),
        flow("pol_degradations", "Destructions et dégradations volontaires", "Destructions et dégradations de biens publics et privés, y compris incendies volontaires.", "Destructions et dégradations volontaires", 22, 0.9, 0.15, 6),
        flow("pol_usage_stupefiants", "Usage de stupéfiants", "Infractions d'usage de stupéfiants constatées (mis en cause).", "Usage de stupéfiants", 7, 1.2, 0.1, 5, unit="mis en cause"),
        flow("pol_trafic_stupefiants", "Trafic de stupéfiants", "Infractions de trafic et de revente de stupéfiants constatées.", "Trafic de stupéfiants", 2, 1.5, 0.05, 5),
        flow("pol_escroqueries", "Escroqueries", "Escroqueries et fraudes aux moyens de paiement déclarées par les victimes.", "Escroqueries", 11, 0.0, 0.05, 2, unit="victimes"),
    ]


def _france_travail() -> list[Spec]:
    f = "france-travail"

    def sub(code: str, label: str, definition: str, source: str, of: str, p: float,
            gradient: float = 0.0, trend: float = 0.0) -> Spec:
        return Spec(code, label, definition, f, source, of=of, p=p, gradient=gradient,
                    trend=trend, unit="demandeurs")
    return [
        Spec("ft_defm_abc", "Demandeurs d'emploi de catégories A, B, C", "Demandeurs d'emploi inscrits en fin de trimestre, tenus de rechercher un emploi, sans emploi ou en activité réduite (catégories A, B, C).", f, "ABC|Ensemble|Ensemble|Ensemble", unit="demandeurs", rate=0.085, gradient=1.2, trend=-0.015, season=0.03, peak=0, nb_k=60.0),
        Spec("ft_defm_a", "Demandeurs d'emploi de catégorie A", "Demandeurs d'emploi inscrits en fin de trimestre, tenus de rechercher un emploi et sans aucune activité (catégorie A).", f, "A|Ensemble|Ensemble|Ensemble", unit="demandeurs", rate=0.05, gradient=1.3, trend=-0.02, season=0.04, peak=0, nb_k=60.0),
        sub("ft_defm_a_femmes", "Femmes demandeuses d'emploi de catégorie A", "Femmes inscrites en catégorie A en fin de trimestre.", "A|Femmes|Ensemble|Ensemble", "ft_defm_a", 0.48),
        sub("ft_defm_abc_femmes", "Femmes demandeuses d'emploi de catégories A, B, C", "Femmes inscrites en catégories A, B, C en fin de trimestre.", "ABC|Femmes|Ensemble|Ensemble", "ft_defm_abc", 0.5),
        sub("ft_defm_a_moins26", "Demandeurs d'emploi de catégorie A de moins de 26 ans", "Demandeurs de catégorie A âgés de moins de 26 ans en fin de trimestre.", "A|Ensemble|Moins de 26 ans|Ensemble", "ft_defm_a", 0.14, 0.3),
        sub("ft_defm_abc_moins26", "Demandeurs d'emploi de catégories A, B, C de moins de 26 ans", "Demandeurs de catégories A, B, C âgés de moins de 26 ans.", "ABC|Ensemble|Moins de 26 ans|Ensemble", "ft_defm_abc", 0.13, 0.3),
        sub("ft_defm_a_50plus", "Demandeurs d'emploi de catégorie A de 50 ans et plus", "Demandeurs de catégorie A âgés de 50 ans ou plus.", "A|Ensemble|50 ans et plus|Ensemble", "ft_defm_a", 0.25, -0.2, 0.01),
        sub("ft_defm_abc_50plus", "Demandeurs d'emploi de catégories A, B, C de 50 ans et plus", "Demandeurs de catégories A, B, C âgés de 50 ans ou plus.", "ABC|Ensemble|50 ans et plus|Ensemble", "ft_defm_abc", 0.26, -0.2, 0.01),
        sub("ft_defm_abc_ld", "Demandeurs d'emploi de longue durée", "Demandeurs de catégories A, B, C inscrits depuis un an ou plus (chômage de longue durée).", "ABC|Ensemble|Ensemble|1 an ou plus", "ft_defm_abc", 0.45, 0.3),
        sub("ft_defm_abc_tld", "Demandeurs d'emploi de très longue durée", "Demandeurs de catégories A, B, C inscrits depuis deux ans ou plus.", "ABC|Ensemble|Ensemble|2 ans ou plus", "ft_defm_abc_ld", 0.55, 0.2),
        Spec(BREAK_INDICATOR, "Demandeurs d'emploi allocataires du RSA", "Demandeurs d'emploi inscrits en fin de trimestre (toutes catégories) percevant le RSA.", f, "RSA|Ensemble|Ensemble|Ensemble", unit="demandeurs", rate=0.018, gradient=2.0, trend=-0.01, nb_k=60.0),
    ]


def _education() -> list[Spec]:
    e, el = "education", "élèves"
    return [
        Spec("edu_eleves_primaire", "Élèves du premier degré", "Élèves scolarisés dans les écoles publiques maternelles et élémentaires du secteur, à la rentrée.", e, "Eleves 1er degre", unit=el, people=el, polarity="neutral", rate=0.085, gradient=0.3, trend=-0.01),
        Spec("edu_eleves_college", "Collégiens", "Élèves scolarisés dans les collèges publics du secteur, à la rentrée.", e, "Collegiens", unit=el, people=el, polarity="neutral", rate=0.045, gradient=0.3),
        Spec("edu_entrants_6e", "Élèves entrant en 6e", "Élèves inscrits en classe de 6e à la rentrée.", e, "Entrants 6e", unit=el, people=el, polarity="neutral", rate=0.011, gradient=0.3),
        Spec("edu_retard_6e", "Élèves entrant en 6e avec au moins un an de retard", "Élèves de 6e ayant au moins un an de retard scolaire à la rentrée.", e, "Retard 6e", unit=el, people=el, of="edu_entrants_6e", p=0.1, gradient=1.2),
        Spec("edu_part_retard_6e", "Part des élèves entrant en 6e avec retard", "Élèves de 6e en retard d'au moins un an rapportés aux entrants en 6e, en %.", e, "Taux retard 6e", kind="rate", unit="%", people=el, num="edu_retard_6e", of="edu_entrants_6e"),
        Spec("edu_absenteistes", "Collégiens absentéistes", "Collégiens ayant au moins quatre demi-journées d'absence non justifiées par mois, en moyenne sur l'année.", e, "Absenteistes", unit=el, people=el, of="edu_eleves_college", p=0.06, gradient=1.0, trend=0.03),
        Spec("edu_taux_absenteisme", "Taux d'absentéisme au collège", "Collégiens absentéistes rapportés aux collégiens, en %.", e, "Taux absenteisme", kind="rate", unit="%", people=el, num="edu_absenteistes", of="edu_eleves_college"),
        Spec("edu_candidats_dnb", "Candidats au diplôme national du brevet", "Élèves de 3e présentés au DNB à la session de juin.", e, "Candidats DNB", unit=el, people=el, polarity="neutral", rate=0.011, gradient=0.2),
        Spec("edu_admis_dnb", "Admis au diplôme national du brevet", "Candidats admis au DNB.", e, "Admis DNB", unit=el, people=el, polarity="up_is_good", of="edu_candidats_dnb", p=0.86, gradient=-0.25),
        Spec("edu_taux_reussite_dnb", "Taux de réussite au brevet", "Admis au DNB rapportés aux candidats présents, en %.", e, "Taux reussite DNB", kind="rate", unit="%", people=el, polarity="up_is_good", num="edu_admis_dnb", of="edu_candidats_dnb"),
        Spec("edu_decrocheurs", "Jeunes décrocheurs repérés", "Jeunes de 16 à 25 ans sortis du système scolaire sans diplôme, repérés par le système interministériel d'échange d'informations (SIEI).", e, "Decrocheurs SIEI", unit="jeunes", rate=0.004, gradient=1.0),
        Spec("edu_exclusions", "Exclusions temporaires de collégiens", "Exclusions temporaires de l'établissement prononcées au collège dans l'année scolaire.", e, "Exclusions temporaires", unit="exclusions", people=el, rate=0.003, gradient=1.0, trend=0.02),
        Spec("edu_boursiers", "Collégiens boursiers", "Collégiens bénéficiant d'une bourse de collège.", e, "Boursiers", unit=el, people=el, polarity="neutral", of="edu_eleves_college", p=0.3, gradient=1.2),
    ]


def _bailleur() -> list[Spec]:
    b, lg, m = "bailleur", "logements", "ménages"
    return [
        Spec("log_logements_sociaux", "Logements sociaux", "Logements locatifs sociaux du bailleur au 1er janvier (patrimoine conventionné).", b, "nb_logements", unit=lg, people=lg, polarity="neutral", rate=0.17, gradient=1.8),
        Spec("log_logements_vacants", "Logements sociaux vacants", "Logements proposés à la location et vacants depuis plus de trois mois au 1er janvier.", b, "nb_vacants", unit=lg, people=lg, of="log_logements_sociaux", p=0.035, gradient=0.5),
        Spec("log_taux_vacance", "Taux de vacance du parc social", "Logements vacants depuis plus de trois mois rapportés au parc, en %.", b, "taux_vacance", kind="rate", unit="%", people=lg, num="log_logements_vacants", of="log_logements_sociaux"),
        Spec("log_menages_impayes", "Ménages en impayé de loyer", "Ménages locataires ayant au moins trois mois de loyer impayé au 31 décembre.", b, "nb_impayes", unit=m, people=m, of="log_logements_sociaux", p=0.06, gradient=1.0, trend=0.02),
        Spec("log_taux_impayes", "Taux d'impayés de loyer", "Ménages en impayé de plus de trois mois rapportés aux logements du parc, en %.", b, "taux_impayes", kind="rate", unit="%", people=m, num="log_menages_impayes", of="log_logements_sociaux"),
        Spec("log_assignations", "Assignations aux fins d'expulsion", "Assignations devant le tribunal aux fins de résiliation du bail et d'expulsion délivrées dans l'année.", b, "nb_assignations", unit=m, people=m, of="log_logements_sociaux", p=0.008, gradient=0.8),
        Spec("log_expulsions", "Expulsions locatives", "Expulsions réalisées avec le concours de la force publique dans l'année.", b, "nb_expulsions", unit=m, people=m, of="log_logements_sociaux", p=0.0015, gradient=0.8),
        Spec("log_demandes_attente", "Demandes de logement social en attente", "Demandes actives au 31 décembre (numéro unique) visant le territoire en premier choix.", b, "nb_demandes", unit="demandes", people=m, rate=0.03, gradient=0.8, trend=0.04),
        Spec("log_attributions", "Attributions de logements sociaux", "Logements attribués dans l'année après commission d'attribution.", b, "nb_attributions", unit=lg, people=m, polarity="up_is_good", of="log_logements_sociaux", p=0.07),
        Spec("log_loyer_moyen", "Loyer moyen du parc social", "Loyer mensuel moyen hors charges par m² de surface habitable, au 1er janvier.", b, "loyer_m2", kind="amount", unit="€/m²", people=lg, polarity="neutral", rate=6.1, of="log_logements_sociaux", gradient=-0.15, trend=0.02),
    ]


def _cpam() -> list[Spec]:
    c, a = "cpam", "assurés"
    return [
        Spec("sante_assures", "Assurés du régime général", "Personnes protégées par le régime général de l'Assurance maladie, résidant sur le territoire.", c, "Assurés RG", unit=a, people=a, polarity="neutral", rate=0.9),
        Spec("sante_beneficiaires_css", "Bénéficiaires de la complémentaire santé solidaire", "Assurés couverts par la complémentaire santé solidaire (CSS), avec ou sans participation financière.", c, "Bénéficiaires CSS", unit=a, people=a, of="sante_assures", p=0.12, gradient=1.5, trend=0.03),
        Spec("sante_part_css", "Part des assurés bénéficiaires de la CSS", "Bénéficiaires de la CSS rapportés aux assurés du régime général, en %.", c, "Part CSS (%)", kind="rate", unit="%", people=a, num="sante_beneficiaires_css", of="sante_assures"),
        Spec("sante_sans_medecin_traitant", "Assurés sans médecin traitant", "Assurés de 17 ans ou plus n'ayant pas déclaré de médecin traitant.", c, "Sans médecin traitant", unit=a, people=a, of="sante_assures", p=0.09, gradient=0.6, trend=0.04),
        Spec("sante_part_sans_medecin_traitant", "Part des assurés sans médecin traitant", "Assurés sans médecin traitant rapportés aux assurés, en %.", c, "Part sans MT (%)", kind="rate", unit="%", people=a, num="sante_sans_medecin_traitant", of="sante_assures"),
        Spec("sante_ald", "Bénéficiaires d'une affection de longue durée", "Assurés en affection de longue durée (ALD) exonérante.", c, "Patients ALD", unit=a, people=a, polarity="neutral", of="sante_assures", p=0.18, gradient=0.3, trend=0.015),
        Spec("sante_invalidite", "Bénéficiaires d'une pension d'invalidité", "Assurés de 20 à 62 ans percevant une pension d'invalidité de l'Assurance maladie.", c, "Pensions invalidité", unit=a, people=a, of="sante_assures", p=0.012, gradient=0.8, trend=0.01),
        Spec("sante_medecins_generalistes", "Médecins généralistes libéraux", "Médecins généralistes libéraux installés au 1er janvier.", c, "Médecins généralistes", unit="médecins", people="professionnels", polarity="up_is_good", rate=0.0009, gradient=-0.8, trend=-0.02, secrecy=0),
        Spec("sante_recours_dentiste", "Assurés ayant consulté un chirurgien-dentiste", "Assurés ayant eu au moins un acte de chirurgien-dentiste dans l'année.", c, "Recours dentiste", unit=a, people=a, polarity="up_is_good", of="sante_assures", p=0.38, gradient=-0.5),
        Spec("sante_part_recours_dentiste", "Taux de recours au chirurgien-dentiste", "Assurés ayant consulté un chirurgien-dentiste dans l'année rapportés aux assurés, en %.", c, "Taux recours dentiste (%)", kind="rate", unit="%", people=a, polarity="up_is_good", num="sante_recours_dentiste", of="sante_assures"),
    ]


def all_specs() -> list[Spec]:
    """Every indicator, in simulation order (a count before the counts and ratios using it)."""
    return _caf() + _police() + _france_travail() + _education() + _bailleur() + _cpam()


def glossary_yaml(specs: list[Spec], thresholds: dict[str, int]) -> str:
    """glossary.yaml text; ``thresholds`` gives each provider's convention threshold."""
    entries: list[dict[str, Any]] = []
    for s in specs:
        entry: dict[str, Any] = {
            "code": s.code, "label": s.label, "definition": s.definition,
            "theme": THEME[s.provider], "unit": s.unit, "kind": s.kind,
        }
        if s.kind == "rate":
            entry["numerator"], entry["denominator"] = s.num, s.of
        elif s.kind == "amount":
            entry["denominator"] = s.of
        entry.update({
            "polarity": s.polarity, "periodicity": PERIODICITY[s.provider],
            "provider": s.provider,
            "secrecy_threshold": s.secrecy if s.secrecy is not None else thresholds[s.provider],
            "people": s.people,
        })
        if s.code == BREAK_INDICATOR:
            entry["breaks"] = [{"period": BREAK_PERIOD, "note": BREAK_NOTE}]
        entries.append(entry)
    return yaml.safe_dump({"indicators": entries}, allow_unicode=True, sort_keys=False,
                          width=100)
