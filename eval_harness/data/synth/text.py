"""Bilingual (English + Simplified Chinese) clinical text for synthetic COde checkups.

Templates imitate COde's formulaic Chinese notes and their machine-translated English. Besides
affirming the anomalies, the text negates or hedges OTHER classes and has pseudo-negations
("no obvious cause"), which is what trips a report labeler; a present class is never negated
or hedged, so the anomalies stay the truth. Only the caller's rng is used and no set is
iterated, so the output does not depend on PYTHONHASHSEED.
"""

from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from eval_harness.labels.classes import CLASSES, primary_class

TEXT_FIELDS: tuple[str, ...] = (
    "patient_record", "chief_complaint", "present_illness", "past_medical_record",
    "examination", "radiographs_examination", "diagnosis", "treatment_plan",
    "treatment_recommendations", "management", "medical_instructions", "remarks",
)

Pair = tuple[str, str]  # (English, Chinese)

_MAP_VERSION = "code-v1"
# Share of checkups whose chief complaint is generic (shared by every class): the class
# prompt shows the complaint, so a complaint that always named the class would let a
# text-only model classify without looking at the images.
GENERIC_COMPLAINT_RATE = 0.6


@cache
def _anomaly_table() -> dict[str, tuple[str, str]]:
    """anomaly_en -> (class, anomaly_cn); the validating public loader is anomaly_map."""
    ref = resources.files("eval_harness.labels").joinpath("data", f"{_MAP_VERSION}.csv")
    rows = csv.DictReader(ref.read_text(encoding="utf-8").splitlines())
    return {r["anomaly_en"]: (r["class"], r["anomaly_cn"]) for r in rows}


# Templates: "key: English | Chinese", alternatives also joined by " || "; an indented line
# continues the one above (joined by a space). {t} "tooth 36"/"36牙", {n} bare number.
# Affirmative keys carry no negation or hedge words, so every such cue in the output comes
# from negated/uncertain/rule_out/xray_negated, which are used only for ABSENT classes.
_TEMPLATES = """
[Dental Caries]
complaint: Food impaction in the {side} back tooth for {dur}. | {side}后牙食物嵌塞{dur}。
complaint: Black spot on a {side} tooth for {dur}, requests treatment.
  | 发现{side}牙齿黑点{dur}，要求治疗。
symptom: food impaction in the {side} back tooth | {side}后牙食物嵌塞
finding: brown lesion on the occlusal surface, probe catches | 咬合面见褐色龋损，探针可探入
finding: cavity reaching the dentin layer | 龋洞深达牙本质层
finding: chalky white spots on the buccal surface | 颊面见白垩色斑
radiograph: Radiolucency in the crown of {t} reaching the dentin. | {t}冠部低密度影达牙本质层。
plan: Caries removal and resin restoration of {t}. | {t}去腐树脂充填。
recommendation: Fluoride varnish and regular check-ups. | 涂氟，定期复查。
recommendation: Pit and fissure sealing of the other molars. | 其余磨牙窝沟封闭。
management: Caries removed from {t}, cavity prepared, etched, bonded and filled with resin,
  then polished. | {t}去腐备洞，酸蚀粘接，树脂充填，抛光。
instruction: Avoid eating for 2 hours. | 2小时内勿进食。
negated: No caries detected. | 未见龋坏。
negated: No obvious carious lesions in the remaining teeth. | 余牙未见明显龋坏。
uncertain: Possible early caries on {n}, to be observed. | {n}牙可疑早期龋，观察。
uncertain: Suspected caries on the proximal surface of {n}. | {n}牙邻面疑似龋坏。
rule_out: Caries of tooth {n} to be excluded. | {n}牙龋病待排。
xray_negated: No proximal caries seen on the radiograph. | 影像未见邻面龋坏。
[Gingivitis]
complaint: Gum bleeding on brushing for {dur}. | 刷牙出血{dur}。 || Requests cleaning. | 要求洁牙。
symptom: gum bleeding on brushing | 刷牙出血 || bad breath | 口腔异味
finding: gingival redness and swelling with bleeding on probing | 牙龈红肿，探诊出血
finding: calculus (++) and pigmentation (+) | 牙石（++），色素（+）
finding: soft gingiva with plaque accumulation | 牙龈质地松软，菌斑堆积
region: full mouth | 全口 || anterior region | 前牙区 || lower anterior region | 下前牙区
radiograph: Calculus shadows on the proximal surfaces of {t}. | {t}邻面见牙石影。
radiograph: Mild horizontal alveolar bone resorption in the anterior region.
  | 前牙区牙槽骨轻度水平吸收。
plan: Full-mouth supragingival scaling. | 全口龈上洁治。
plan: Supragingival scaling and air polishing. | 龈上洁治，喷砂抛光。
recommendation: Regular scaling and dental check-ups. | 定期洁治及复查。
management: Patient informed of the condition and costs and consented. Full-mouth ultrasonic
  scaling, air polishing and iodine glycerin; oral hygiene instruction given.
  | 告知病情及费用，患者同意。全口超声洁治，喷砂抛光，上碘甘油，口腔卫生宣教。
instruction: Avoid acidic foods and extreme temperatures for one week. | 一周内避免酸性及冷热刺激。
negated: No obvious gingival inflammation. | 牙龈无明显红肿。
negated: No bleeding on probing, no calculus. | 探诊未见出血，未见牙结石。
uncertain: Cannot rule out mild gingivitis around {n}. | 不排除{n}牙龈轻度炎症。
rule_out: Gingivitis to be excluded. | 牙龈炎待排。
xray_negated: No obvious alveolar bone resorption. | 牙槽骨未见明显吸收。
[Class III Malocclusion]
complaint: Requests orthodontic treatment for irregular teeth. | 要求矫正牙齿不齐。
complaint: Returns for orthodontic adjustment. | 正畸复诊加力。
complaint: Lower front teeth bite in front of the upper ones for {dur}. | 下前牙包上前牙{dur}。
symptom: irregular front teeth | 前牙排列不齐
finding: brackets bonded, archwire engaged | 托槽粘接在位，弓丝入槽
finding: malposition evident on the study models | 模型分析可见错位
radiograph: Cephalometric radiograph shows a skeletal Class III pattern. | 头颅侧位片示骨性III类。
radiograph: Panoramic radiograph shows the position of {t} and adjacent roots.
  | 全景片示{t}位置及邻牙牙根情况。
plan: Orthodontic treatment with fixed appliances. | 固定矫治器正畸治疗。
plan: Early intervention with maxillary protraction. | 上颌前方牵引早期矫治。
plan: Clear aligner treatment. | 隐形矫治。
recommendation: Wear the appliance as instructed. | 遵医嘱佩戴矫治器。
management: Photographs and intraoral scan taken; archwire changed and elastics adjusted.
  | 拍照、口扫，更换弓丝，调整橡皮圈。
management: Brackets bonded on {t}, 0.014 NiTi archwire placed. | {t}粘接托槽，置入0.014镍钛丝。
instruction: Wear the aligners over 20 hours a day. | 每天佩戴矫治器20小时以上。
negated: Occlusion is normal. | 咬合关系正常。 || No crowding or crossbite. | 未见牙列拥挤及反颌。
uncertain: Possible mild crowding of the lower front teeth, to be reassessed.
  | 下前牙可疑轻度拥挤，待复查。
rule_out: Skeletal Class III malocclusion to be excluded. | 骨性III类错颌待排。
[Pulpitis]
complaint: Tooth pain on the {side} for {dur}. | {side}牙痛{dur}。
complaint: Spontaneous night pain in a {side} tooth for {dur}. | {side}牙自发性夜间痛{dur}。
symptom: pain in a {side} tooth | {side}牙疼痛 || pain on chewing | 咀嚼痛
finding: temporary seal in place, percussion (+) | 暂封在位，叩痛（+）
finding: cold test elicits lingering pain | 冷测引起迟缓性疼痛
finding: spontaneous pain reported, percussion (+) | 自发痛，叩痛（+）
radiograph: Periapical radiolucency at {t}. | {t}根尖周低密度影。
radiograph: Widened periodontal ligament space at the apex of {t}. | {t}根尖周膜间隙增宽。
plan: Root canal treatment of {t}. | {t}根管治疗。
recommendation: Crown restoration after root canal treatment. | 根管治疗后建议冠修复。
management: Under local anaesthesia: access opening of {t}, pulp extirpation, canal irrigation,
  calcium hydroxide dressing and temporary seal. | 局麻下{t}开髓拔髓，根管冲洗，封药，暂封。
management: Temporary seal of {t} removed, canals irrigated, dried and obturated.
  | {t}去暂封，根管冲洗干燥，牙胶尖充填。
instruction: Avoid chewing on the treated side. | 避免患侧咀嚼。
negated: No spontaneous pain, percussion negative. | 无自发痛，叩痛（-）。
negated: Cold test normal, no tenderness to percussion. | 冷测正常，叩诊无不适。
uncertain: Cannot rule out pulpitis of tooth {n}. | 不排除{n}牙髓炎。
uncertain: Possible reversible pulpitis of {n}, to be observed. | {n}牙可疑可复性牙髓炎，观察。
rule_out: Pulpitis of tooth {n} to be excluded. | {n}牙髓炎待排。
xray_negated: No periapical radiolucency. | 根尖周未见明显低密度影。
[Tooth Loss]
complaint: Missing {side} tooth for {dur}, requests restoration. | {side}牙缺失{dur}，要求修复。
complaint: Returns for implant restoration. | 种植修复复诊。
symptom: difficulty chewing after losing a {side} tooth | {side}牙缺失后咀嚼困难
finding: edentulous space, alveolar ridge healed | 缺牙区牙槽嵴愈合良好
finding: healing abutment in place, implant stable | 愈合基台在位，种植体稳定
finding: adjacent teeth tilted slightly into the space | 邻牙略向缺隙倾斜
radiograph: Edentulous space at {t} with adequate bone height. | {t}缺牙区骨高度充足。
radiograph: Implant at {t} well integrated. | {t}种植体骨结合良好。
plan: Implant restoration of {t}. | {t}种植修复。 || Removable partial denture. | 可摘局部义齿修复。
recommendation: Implant or fixed bridge restoration. | 建议种植或固定桥修复。
management: Healing caps at {t} removed, impression posts placed, open-tray impression taken.
  | {t}取下愈合帽，安装转移杆，开窗取模。
management: Impressions taken for a removable partial denture; shade selected.
  | 取模制作可摘局部义齿，比色。
instruction: Avoid biting hard foods on the implant side. | 种植侧避免咬硬物。
negated: Dentition is complete. | 牙列完整。 || No missing teeth. | 未见缺失牙。
uncertain: Tooth {n} suspected missing, to be confirmed on radiograph. | {n}牙疑似缺失，待影像确认。
rule_out: Missing tooth {n} to be excluded. | {n}牙缺失待排。
[Tooth Structure Loss]
complaint: Broken tooth on the {side} for {dur}. | {side}牙折裂缺损{dur}。
complaint: Returns for crown cementation. | 复诊戴冠。
symptom: a chipped {side} tooth | {side}牙缺损 || tooth sensitivity | 牙齿敏感
finding: crown defect with exposed dentin | 牙冠缺损，牙本质暴露
finding: temporary crown in place | 临时冠在位
finding_wide: noted on history and examination | 病史及检查所见 || seen on inspection | 视诊可见
finding: defect margins smooth, sensitive to probing | 缺损边缘光滑，探诊敏感
radiograph: Crown defect of {t} close to the enamel-dentin junction. | {t}冠部缺损近釉牙本质界。
radiograph: Panoramic radiograph reviewed with the history. | 全景片结合病史评估。
plan: Crown restoration of {t}. | {t}冠修复。 || Resin restoration of {t}. | {t}树脂修复。
plan: Specialist assessment. | 专科评估。
recommendation: Crown restoration to protect the remaining tooth structure.
  | 建议冠修复保护剩余牙体。
management: Temporary crown of {t} removed, restoration tried in, cemented with resin cement,
  occlusion adjusted and polished. | {t}去临时冠，试戴，树脂水门汀粘接，调颌抛光。
management: Condition explained; referral arranged for specialist assessment.
  | 告知病情，转诊专科评估。
instruction: Avoid biting hard objects. | 避免咬硬物。
negated: No tooth wear or wedge-shaped defects. | 未见牙齿磨耗及楔状缺损。
uncertain: Possible mild wear on {n}, to be observed. | {n}牙可疑轻度磨耗，观察。
uncertain: Suspected wedge-shaped defect on {n}. | {n}牙疑似楔状缺损。
rule_out: Tooth structure loss of {n} to be excluded. | {n}牙体缺损待排。
[common]
complaint: Requests a routine oral examination. | 要求口腔常规检查。
complaint: Came for a dental check-up. | 来院行口腔检查。
complaint: Discomfort in the {side} teeth for {dur}. | {side}牙不适{dur}。
complaint: Returns for review as scheduled. | 按约复诊复查。
first: First visit. | 初诊。
first_illness: {sym} for {dur} with no obvious cause. | {dur}前无明显诱因出现{sym}。
first_illness: {sym} for {dur}; came for diagnosis and treatment. | {sym}{dur}，今来我院就诊。
first_illness: {sym} for {dur}; treated elsewhere before. | {sym}{dur}，曾于外院治疗。
follow_up: Follow-up consultation. | 复诊。
follow_up_illness: Treated at our clinic {dur} ago; returns as scheduled.
  | {dur}前于我院治疗，今按约复诊。
follow_up_illness: Returns for the next stage of treatment. | 今来我院行下一阶段治疗。
past: Denies systemic diseases, denies drug allergies. | 否认系统性疾病史，否认药物过敏史。
past: History of hypertension, controlled with medication. Denies drug allergies.
  | 高血压病史，药物控制良好。否认药物过敏史。
past: Allergic to penicillin. Denies systemic diseases. | 青霉素过敏。否认系统性疾病史。
past: Type 2 diabetes, blood glucose controlled. Denies drug allergies.
  | 2型糖尿病，血糖控制可。否认药物过敏史。
instruction: Return if any discomfort occurs. | 如有不适随诊。 || Keep teeth clean. | 保持口腔卫生。
instruction: Schedule regular check-ups. | 定期复查。
remark: Patient informed of the follow-up schedule. | 已告知患者复诊时间。
remark: Review in {dur}. | {dur}后复查。 || Accompanied by a parent. | 家长陪同就诊。
remark: Consent form signed. | 已签署知情同意书。
"""


def _parse(block: str) -> dict[str, dict[str, tuple[Pair, ...]]]:
    table: dict[str, dict[str, tuple[Pair, ...]]] = {}
    section = ""  # the "[class]" header the following lines belong to
    for line in re.sub(r"\n +", " ", block.strip()).splitlines():  # join continuations
        if line.startswith("["):
            section = line.strip("[]")
            table[section] = {}
            continue
        key, _, text = line.partition(": ")
        pairs = [alt.split(" | ") for alt in text.split(" || ")]
        table[section][key] = table[section].get(key, ()) + tuple((e, c) for e, c in pairs)
    return table


_T = _parse(_TEMPLATES)
# FDI permanent teeth; tuples so rng.sample/choice see a fixed order.
_ANTERIOR = (11, 12, 13, 21, 22, 23, 31, 32, 33, 41, 42, 43)
_POSTERIOR = (14, 15, 16, 17, 24, 25, 26, 27, 34, 35, 36, 37, 44, 45, 46, 47)
_THIRD = (18, 28, 38, 48)
_POOL_OVERRIDE: dict[str, tuple[int, ...]] = {
    "Acute Pericoronitis": _THIRD, "Impacted Tooth": _THIRD, "Mesioangular Impaction": _THIRD,
    "Wedge-Shaped Defect": (13, 14, 15, 23, 24, 25, 33, 34, 35, 43, 44, 45)}  # cervical
# Recorded without a tooth number (skeletal/facial, habits, mouth-wide gingival state,
# mucosal or systemic); keyword match within three classes, checked against all 117 names.
_GLOBAL_CLASSES = ("Gingivitis", "Class III Malocclusion", "Tooth Structure Loss")
_GLOBAL_WORDS = (
    "Malocclusion", "Bite", "Overbite", "Overjet", "Midline", "Spee", "Maxillary", "Mandib",
    "Profile", "Chin", "Ramus", "Facial", "Molar Relationship", "Occlusal", "Relapse",
    "Breathing", "Habit", "Thrust", "Frenum", "Gingivitis", "Periodontitis", "Calculus",
    "Hygiene", "Hyperemia", "Alveolar", "Fluorosis", "Stain", "Pigment", "Jaw", "Cleft",
    "Ulcer", "Apnea")
# ICD-10 codes as COde records write them, only for names the records show one for.
_CODES: dict[str, str] = {
    "Dental Caries": "K02.101", "Gingivitis": "K05.105", "Periodontitis": "K05.306",
    "Malocclusion": "K07.400", "Class III Malocclusion": "K07.200x013", "Pulpitis": "K04.000",
    "Pulp Necrosis": "K04.100", "Periapical Periodontitis": "K04.500",
    "Tooth Loss": "K08.100x002", "Tooth Structure Loss": "K07.303",
    "Wedge-Shaped Defect": "K03.100", "Impacted Tooth": "K01.100"}
# Negating these classes would contradict a present anomaly of another class
# (e.g. "No missing teeth." beside a congenitally missing tooth), so only hedge them.
_NEG_CONFLICT: dict[str, tuple[str, ...]] = {
    "Tooth Loss": ("Congenitally Missing Tooth",), "Gingivitis": ("Acute Pericoronitis",)}
_KEEP_CASE = ("I", "II", "III", "Class", "Kennedy", "Angle", "Spee")
_SIDES: dict[int, Pair] = {1: ("upper right", "右上"), 2: ("upper left", "左上"),
                           3: ("lower left", "左下"), 4: ("lower right", "右下")}
_DURATIONS: tuple[Pair, ...] = (("3 days", "3天"), ("5 days", "5天"), ("one week", "1周"),
    ("two weeks", "2周"), ("one month", "1个月"), ("three months", "3个月"),
    ("half a year", "半年"), ("one year", "1年"), ("several years", "数年"))


@dataclass(frozen=True)
class _Item:
    name: str
    cls: str
    cn: str
    teeth: tuple[int, ...]  # empty for mouth-wide anomalies


def _cap(s: str) -> str:  # str.capitalize would lower-case "III" and "Kennedy"
    return s[:1].upper() + s[1:]


def _en_name(name: str) -> str:
    return " ".join(w if w in _KEEP_CASE else w.lower() for w in name.split())


def _teeth(teeth: tuple[int, ...]) -> Pair:
    """("tooth 36" / "teeth 36 and 37" / "teeth 11, 12, and 21", "36、37牙")."""
    nums = [str(t) for t in teeth]
    if len(nums) == 1:
        return f"tooth {nums[0]}", f"{nums[0]}牙"
    tail = f" and {nums[-1]}" if len(nums) == 2 else f", and {nums[-1]}"
    return "teeth " + ", ".join(nums[:-1]) + tail, "、".join(nums) + "牙"


def _pick(rng: random.Random, options: tuple[Pair, ...], with_teeth: bool) -> Pair:
    """Choose a template; mouth-wide anomalies have no tooth to fill {t} with."""
    usable = options if with_teeth else tuple(p for p in options if "{t}" not in p[0])
    return rng.choice(usable or options)


def _fill(pair: Pair, en: dict[str, str], cn: dict[str, str]) -> Pair:
    return _cap(pair[0].format(**en)), pair[1].format(**cn)


def _items(rng: random.Random, anomalies: list[str]) -> list[_Item]:
    table = _anomaly_table()
    unknown = [a for a in anomalies if a not in table]
    if not anomalies or unknown:
        raise ValueError(f"need 1+ anomalies known to {_MAP_VERSION}; unknown: {unknown}")
    items = []
    for name in dict.fromkeys(anomalies):  # de-duplicate, keep the caller's order
        cls, cn = table[name]
        pool = _POOL_OVERRIDE.get(name, _ANTERIOR if cls == "Class III Malocclusion"
                                  else _POSTERIOR + _ANTERIOR)
        k = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
        mouth_wide = cls in _GLOBAL_CLASSES and any(w in name for w in _GLOBAL_WORDS)
        items.append(_Item(name, cls, cn, () if mouth_wide else tuple(sorted(rng.sample(pool, k)))))
    return items


def _mentions(rng: random.Random, items: list[_Item], has_radiograph: bool
              ) -> dict[str, list[Pair]]:
    """Negated/uncertain mentions of absent classes, by the field they go into."""
    names = [i.name for i in items]
    free = tuple(t for t in _ANTERIOR + _POSTERIOR if all(t not in i.teeth for i in items))
    others = [c for c in CLASSES if all(i.cls != c for i in items)]
    found: dict[str, list[Pair]] = {"examination": [], "diagnosis": [],
                                    "radiographs_examination": []}
    if others and rng.random() < 0.4:  # ~40% of checkups, as in clinical notes
        k = 2 if rng.random() < 0.3 else 1
        for cls in rng.sample(others, min(k, len(others))):
            n = str(rng.choice(free))
            negatable = not any(a in names for a in _NEG_CONFLICT.get(cls, ()))
            if negatable and rng.random() < 0.55:
                found["examination"].append(rng.choice(_T[cls]["negated"]))
            else:
                where, key = ("diagnosis", "rule_out") if rng.random() < 0.3 else (
                    "examination", "uncertain")
                hedge = rng.choice(_T[cls][key])
                found[where].append((hedge[0].format(n=n), hedge[1].format(n=n)))
    candidates = [c for c in others if "xray_negated" in _T[c]]
    if has_radiograph and candidates and rng.random() < 0.25:
        negated = _T[rng.choice(candidates)]["xray_negated"]
        found["radiographs_examination"].append(rng.choice(negated))
    return found


def make_texts(rng: random.Random, anomalies: list[str], has_radiograph: bool) -> dict[str, str]:
    """Return every field of TEXT_FIELDS in English and, as f"{field}_cn", in Chinese."""
    items = _items(rng, anomalies)
    present = tuple(c for c in CLASSES if any(i.cls == c for i in items))
    primary = primary_class(present) or items[0].cls  # never None: every class is known
    lead, common = _T[primary], _T["common"]
    first = next(i for i in items if i.cls == primary)  # complaint and side follow it
    side_tooth = first.teeth[0] if first.teeth else rng.choice(_ANTERIOR + _POSTERIOR)
    side, dur = _SIDES[side_tooth // 10], rng.choice(_DURATIONS)
    base_en = {"side": side[0], "dur": dur[0], "t": "", "n": ""}
    base_cn = {"side": side[1], "dur": dur[1], "t": "", "n": ""}

    visit = "first" if rng.random() < 0.35 else "follow_up"
    out: dict[str, list[Pair]] = {f: [] for f in TEXT_FIELDS}
    out["patient_record"].append(common[visit][0])
    if rng.random() < 0.5:  # COde often repeats the diagnosis in the record line
        out["patient_record"].append(("Diagnosis: " + ", ".join(_en_name(i.name) for i in items)
                                      + ".", "诊断：" + "，".join(i.cn for i in items) + "。"))
    # Many real complaints name no condition ("routine check-up"): then only the images
    # tell the class apart, which is what a vision model must be measured on.
    complaints = common["complaint"] if rng.random() < GENERIC_COMPLAINT_RATE else lead[
        "complaint"]
    out["chief_complaint"].append(_fill(rng.choice(complaints), base_en, base_cn))
    sym = rng.choice(lead["symptom"])  # first_illness puts "no obvious cause" (pseudo-negation)
    sym_en = {**base_en, "sym": sym[0].format(**base_en)}
    sym_cn = {**base_cn, "sym": sym[1].format(**base_cn)}
    out["present_illness"].append(_fill(rng.choice(common[visit + "_illness"]), sym_en, sym_cn))
    out["past_medical_record"].append(rng.choice(common["past"]))

    mentions = _mentions(rng, items, has_radiograph)
    seen: list[str] = []
    for item in items:
        t = _T[item.cls]
        teeth_en, teeth_cn = _teeth(item.teeth) if item.teeth else ("", "")
        en, cn = {**base_en, "t": teeth_en}, {**base_cn, "t": teeth_cn}
        finding = rng.choice(t.get("" if item.teeth else "finding_wide", t["finding"]))
        name_en = _en_name(item.name)
        if item.teeth:
            # "46牙髓炎", not "46牙牙髓炎"; "Tooth 23: ectopic tooth", not "... of tooth 23"
            where_cn = cn["t"].removesuffix("牙") if item.cn.startswith("牙") else cn["t"]
            out["examination"].append((f"{_cap(en['t'])}: {name_en}, {finding[0]}.",
                                       f"{where_cn}{item.cn}，{finding[1]}。"))
            colon = "tooth" in name_en or "teeth" in name_en or rng.random() < 0.3
            diag = (f"{_cap(en['t'])}: {name_en}" if colon else f"{name_en} of {en['t']}",
                    f"{where_cn}{item.cn}")
        else:
            region = rng.choice(t["region"]) if "region" in t else ("", "")
            where = f" in the {region[0]}" if region[0] else ""
            out["examination"].append((f"{_cap(name_en)} noted{where}; {finding[0]}.",
                                       f"{region[1]}{item.cn}，{finding[1]}。"))
            diag = (name_en, item.cn)
        code = _CODES.get(item.name)
        if code and rng.random() < 0.7:
            diag = (f"{diag[0]} ({code})", f"{diag[1]}（{code}）")
        out["diagnosis"].append((_cap(diag[0]) + ".", diag[1] + "。"))
        if has_radiograph:
            out["radiographs_examination"].append(
                _fill(_pick(rng, t["radiograph"], bool(item.teeth)), en, cn))
        if item.cls in seen:  # one plan/management line per class, as COde reads
            continue
        seen.append(item.cls)
        out["treatment_plan"].append(_fill(_pick(rng, t["plan"], bool(item.teeth)), en, cn))
        out["treatment_recommendations"].append(rng.choice(t["recommendation"]))
        out["management"].append(_fill(_pick(rng, t["management"], bool(item.teeth)), en, cn))
        out["medical_instructions"].append(rng.choice(t["instruction"]))
    for field, extra in mentions.items():
        out[field] += extra
    out["medical_instructions"].append(rng.choice(common["instruction"]))
    # Follow-up visits in COde usually leave plan and recommendations blank.
    if visit == "follow_up" and rng.random() < 0.6:
        out["treatment_plan"] = []
    if rng.random() < 0.5:
        out["treatment_recommendations"] = []
    if rng.random() < 0.5:
        out["remarks"].append(_fill(rng.choice(common["remark"]), base_en, base_cn))

    result = {f: " ".join(p[0] for p in out[f]) for f in TEXT_FIELDS}
    result.update({f"{f}_cn": "".join(p[1] for p in out[f]) for f in TEXT_FIELDS})
    return result
