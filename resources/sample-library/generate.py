#!/usr/bin/env python3
"""Writes the bundled sample library: fact sheets of Tidewater Instruments, a fictional maker of
field-measurement devices. Every fact comes from the tables below, so the same facts are the ground
truth of the question set (facts.json). Run from this folder; output is deterministic.
Tooling only: the app never runs Python."""
import json, os, zlib

PEOPLE = [
    # name, role, joined, office, extension, project, hobby
    ("Marta Lindqvist", "chief executive officer", 2009, "Bergen", 101, "the company itself", "sea kayaking"),
    ("Tomas Okafor", "head of hardware engineering", 2011, "Bergen", 214, "Kelp Sounder", "restoring radios"),
    ("Ingrid Solberg", "lead firmware engineer", 2013, "Trondheim", 322, "Drift Logger", "cross-country skiing"),
    ("Rafael Mendes", "sales director for Southern Europe", 2015, "Lisbon", 418, "Harbor Gauge", "fado guitar"),
    ("Aiko Tanaka", "quality assurance manager", 2012, "Bergen", 233, "Tide Beacon", "bonsai"),
    ("Oskar Berg", "production planner", 2017, "Trondheim", 341, "Salt Meter", "orienteering"),
    ("Leila Haddad", "head of customer support", 2014, "Lisbon", 402, "Reef Camera", "pottery"),
    ("Niklas Falk", "battery systems engineer", 2019, "Trondheim", 356, "Storm Anemometer", "trail running"),
    ("Chiara Romano", "industrial designer", 2016, "Lisbon", 431, "Kelp Sounder", "watercolour painting"),
    ("Henrik Aas", "chief financial officer", 2010, "Bergen", 105, "the annual budget", "chess"),
    ("Yusuf Demir", "field test coordinator", 2018, "Halifax", 512, "Drift Logger", "sailing"),
    ("Emily Carter", "regional manager for North America", 2020, "Halifax", 501, "Harbor Gauge", "birdwatching"),
]
PRODUCTS = [
    # name, launched, price_eur, weight_g, battery_h, lead, depth_m, description
    ("Kelp Sounder", "March 2014", 1890, 740, 36, "Tomas Okafor", 120, "a handheld sonar that maps kelp forests"),
    ("Drift Logger", "September 2015", 460, 310, 2200, "Ingrid Solberg", 30, "a floating buoy that records surface currents"),
    ("Harbor Gauge", "May 2016", 2750, 4100, 8760, "Rafael Mendes", 15, "a fixed water-level station for ports"),
    ("Tide Beacon", "January 2017", 980, 1250, 4300, "Aiko Tanaka", 10, "a solar-charged marker light with a tide sensor"),
    ("Salt Meter", "June 2018", 340, 190, 90, "Oskar Berg", 5, "a pocket salinity probe"),
    ("Reef Camera", "October 2019", 3120, 2300, 14, "Leila Haddad", 60, "a time-lapse camera for coral surveys"),
    ("Storm Anemometer", "April 2021", 1460, 2900, 6000, "Niklas Falk", 0, "a wind sensor rated for hurricane gusts"),
    ("Plankton Counter", "November 2022", 5400, 3600, 48, "Ingrid Solberg", 200, "an optical counter for plankton samples"),
]
OFFICES = [
    # city, address, opened, staff, note
    ("Bergen", "Bryggen 14, 5003 Bergen, Norway", 2009, 64, "the headquarters and main workshop"),
    ("Trondheim", "Fjordgata 72, 7010 Trondheim, Norway", 2012, 38, "firmware and battery research"),
    ("Lisbon", "Rua do Alecrim 55, 1200-018 Lisbon, Portugal", 2015, 21, "sales and support for Southern Europe"),
    ("Halifax", "1875 Lower Water Street, Halifax, Nova Scotia, Canada", 2018, 12, "field testing in the North Atlantic"),
]
HISTORY = [
    (2009, "Marta Lindqvist founds Tidewater Instruments in a boathouse in Bergen with four engineers."),
    (2012, "The Trondheim office opens to develop firmware and batteries."),
    (2014, "The Kelp Sounder, the first product, ships to 40 research institutes."),
    (2016, "The Harbor Gauge is installed in the ports of Rotterdam and Gdansk."),
    (2018, "Tidewater opens its Halifax test station and passes 100 employees."),
    (2021, "The Storm Anemometer survives a 61 metre-per-second gust on the Faroe Islands."),
    (2023, "Annual revenue reaches 48 million euros; the company employs 135 people."),
]

def person_text(p):
    name, role, joined, office, ext, project, hobby = p
    first = name.split()[0]
    return (f"{name}\n\n{name} is the {role} of Tidewater Instruments. {first} joined the company in {joined} "
            f"and works at the {office} office. Colleagues reach {first} on telephone extension {ext}.\n\n"
            f"{first} currently spends most of the week on {project}. Outside work, {first}'s favourite pastime is {hobby}.\n")

def product_text(p):
    name, launched, price, weight, battery, lead, depth, desc = p
    depth_line = f"It is rated to a depth of {depth} metres." if depth else "It is mounted above the water and is not rated for immersion."
    return (f"# {name}\n\nThe {name} is {desc}. It was launched in {launched}.\n\n"
            f"## Specifications\n\n- List price: {price} euros\n- Weight: {weight} grams\n"
            f"- Battery life: {battery} hours\n- {depth_line}\n\n"
            f"## Team\n\nThe lead engineer of the {name} is {lead}.\n")

def office_text(o):
    city, addr, opened, staff, note = o
    return (f"Tidewater Instruments, {city} office\n\nAddress: {addr}.\nOpened in {opened}, the {city} office has "
            f"{staff} staff and is responsible for {note}.\n")

def history_html():
    rows = "\n".join(f"<li><b>{y}</b>: {t}</li>" for y, t in HISTORY)
    return (f"<html><head><title>History of Tidewater Instruments</title><style>li {{ margin: 4px }}</style></head>\n"
            f"<body><h1>History of Tidewater Instruments</h1>\n<ul>\n{rows}\n</ul>\n"
            f"<p>Tidewater&#39;s motto is &quot;Measure the sea, respect the sea&quot;.</p></body></html>\n")

TRAVEL_PAGES = [
    ["Tidewater Instruments travel policy", "",
     "1. Employees book trains for journeys under six hours.",
     "2. Flights are booked in economy class for trips shorter than eight hours.",
     "3. The daily meal allowance is 55 euros in Norway and 40 euros elsewhere."],
    ["4. Field test trips to Halifax are approved by Yusuf Demir.",
     "5. Hotel nights are refunded up to 160 euros.",
     "6. Expense reports are due within 14 days of returning."],
]

def pdf(pages):
    """A minimal PDF with one text page per entry (Helvetica 12pt)."""
    objs = []
    def add(body):
        objs.append(body)
        return len(objs)
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    page_ids, content_ids = [], []
    pages_id = len(pages) * 2 + 2
    for lines in pages:
        ops = ["BT", "/F1 12 Tf", "16 TL", "72 740 Td"]
        for ln in lines:
            esc = ln.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({esc}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode()
        cid = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        pid = add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] /Contents %d 0 R /Resources << /Font << /F1 %d 0 R >> >> >>" % (pages_id, cid, font))
        page_ids.append(pid)
    kids = " ".join(f"{p} 0 R" for p in page_ids).encode()
    assert add(b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % len(page_ids)) == pages_id
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % pages_id)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, catalog, xref)
    return bytes(out)

def slug(s):
    return s.lower().replace(" ", "-")

def main():
    root = os.path.dirname(os.path.abspath(__file__))
    def write(rel, data):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
    facts = []
    for p in PEOPLE:
        write(f"people/{slug(p[0])}.txt", person_text(p))
        first = p[0].split()[0]
        facts += [
            {"question": f"What is the telephone extension of {p[0]}?", "answer": str(p[4]), "source": f"people/{slug(p[0])}.txt"},
            {"question": f"In which year did {p[0]} join Tidewater Instruments?", "answer": str(p[2]), "source": f"people/{slug(p[0])}.txt"},
            {"question": f"At which office does {p[0]} work?", "answer": p[3], "source": f"people/{slug(p[0])}.txt"},
            {"question": f"What is {first}'s favourite pastime?", "answer": p[6], "source": f"people/{slug(p[0])}.txt"},
        ]
    for p in PRODUCTS:
        write(f"products/{slug(p[0])}.md", product_text(p))
        facts += [
            {"question": f"What is the list price of the {p[0]} in euros?", "answer": str(p[2]), "source": f"products/{slug(p[0])}.md"},
            {"question": f"How much does the {p[0]} weigh in grams?", "answer": str(p[3]), "source": f"products/{slug(p[0])}.md"},
            {"question": f"When was the {p[0]} launched?", "answer": p[1], "source": f"products/{slug(p[0])}.md"},
            {"question": f"Who is the lead engineer of the {p[0]}?", "answer": p[5], "source": f"products/{slug(p[0])}.md"},
        ]
    for o in OFFICES:
        write(f"offices/{slug(o[0])}.txt", office_text(o))
        facts += [
            {"question": f"How many staff work at the {o[0]} office?", "answer": str(o[3]), "source": f"offices/{slug(o[0])}.txt"},
            {"question": f"In which year did the {o[0]} office open?", "answer": str(o[2]), "source": f"offices/{slug(o[0])}.txt"},
        ]
    write("history.html", history_html())
    facts += [{"question": "In which year was Tidewater Instruments founded?", "answer": "2009", "source": "history.html"},
              {"question": "What annual revenue did Tidewater reach in 2023, in millions of euros?", "answer": "48", "source": "history.html"}]
    write("policies/travel-policy.pdf", pdf(TRAVEL_PAGES))
    facts += [{"question": "What is the daily meal allowance in Norway?", "answer": "55 euros", "source": "policies/travel-policy.pdf"},
              {"question": "Up to how many euros per hotel night are refunded?", "answer": "160", "source": "policies/travel-policy.pdf"},
              {"question": "Who approves field test trips to Halifax?", "answer": "Yusuf Demir", "source": "policies/travel-policy.pdf"}]
    write("README", "# Sample library\n\nFact sheets of Tidewater Instruments, a fictional company, written for EPIC desktop's "
          "first run and tests. Generated by generate.py; facts.json lists questions with their answers.\n")
    with open(os.path.join(root, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1)
        f.write("\n")
    print(f"{len(PEOPLE) + len(PRODUCTS) + len(OFFICES) + 3} documents, {len(facts)} facts")

if __name__ == "__main__":
    main()
