"""Whole letters written in the style of each template the parser knows (see core/parser/layouts.py)."""

from __future__ import annotations

FDL_2016 = """Independent Medical Review Final Determination Letter
Case Number: CM16-0234567
Date Assigned: 11/23/2016 Date of Injury: 10/16/2014
Decision Date: 12/21/2016 UR Denial Date: 10/20/2016
Priority: Standard Application 
Received: 
11/15/2016
HOW THE IMR FINAL DETERMINATION WAS MADE
MAXIMUS Federal Services sent the complete case file to an expert reviewer. He/she has no 
affiliation with the employer, employee, providers or the claims administrator.
The Expert Reviewer has the following credentials:
State(s) of Licensure: California
Certification(s)/Specialty: Physical Medicine & Rehabilitation, Pain Medicine
CLINICAL CASE SUMMARY
The expert reviewer developed the following clinical case summary based on a review of the 
case file, including all medical records:
The injured worker is a 48 year old female who sustained an industrial injury on 10-16-2014. 
She has low back pain radiating to the left leg.
IMR ISSUES, DECISIONS AND RATIONALES
The Final Determination was based on decisions for the disputed items/services set forth below:
Physical therapy 12 sessions for the lumbar spine was the original request. Physical therapy 6 
sessions for the lumbar spine was authorized by the Claims Administrator. The remaining IMR 
eligible portion of the original request, Physical therapy 6 sessions for the lumbar spine is: 
Upheld
Claims Administrator guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, 
Section(s): Physical Medicine.
MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): 
Physical Medicine.
Decision rationale: The MTUS recommends 9 to 10 visits over 8 weeks. Physical therapy 12 
sessions for the lumbar spine was the original request. Physical therapy 6 sessions for the 
lumbar spine was authorized by the Claims Administrator. The original request, twelve visits, 
is not medically necessary.
MRI of the lumbar spine without contrast: Overturned
Claims Administrator guideline: Decision based on ACOEM Low Back Chapter.
MAXIMUS guideline: Decision based on ACOEM Low Back Chapter.
Decision rationale: There are new neurological deficits in the left leg. The requested MRI of 
the lumbar spine is medically necessary.
"""

FDL_2016_ITEMS = [
    ("Physical therapy 6 sessions for the lumbar spine", "Physical therapy 12 sessions for the lumbar spine",
     "Physical therapy 6 sessions for the lumbar spine", "upheld"),
    ("MRI of the lumbar spine without contrast", None, None, "overturned"),
]

# Seed-style text: no header table, a blank line between every line, trailing spaces.
SEED_STYLE = "\n\n".join(line + " " for line in FDL_2016.split("HOW THE IMR", 1)[1].join(
    ["HOW THE IMR", ""]).splitlines())

MAXIMUS_2013 = """MAXIMUS FEDERAL SERVICES, INC. Notice of Independent Medical Review Determination Dated: 9/26/2013
Employee: [redacted]
Claim Number: 1234567
Date of UR Decision: 8/30/2013
Date of Injury: 8/28/2001
IMR Application Received: 9/6/2013
MAXIMUS Case Number: CM13-0001234
1) MAXIMUS Federal Services, Inc. has determined the request for a 28 day
functional restoration program is notmedically necessary and appropriate.
2) MAXIMUS Federal Services, Inc. has determined the request for a 6 month
follow-up aftercare program is medically necessary and appropriate.
INDEPENDENT MEDICAL REVIEW DECISION AND RATIONALE
An application for Independent Medical Review was filed on 9/6/2013 disputing the
Utilization Review Denial dated 8/30/2013. A Notice of Assignment and Request for
Information was provided to the above parties on 9/23/2013. A decision has been made
for each of the treatment and/or services that were in dispute:
1) MAXIMUS Federal Services, Inc. has determined the request for a 28 day
functional restoration program is notmedically necessary and appropriate.
2) MAXIMUS Federal Services, Inc. has determined the request for a 6 month
follow-up aftercare program is medically necessary and appropriate.
Medical Qualifications of the Expert Reviewer:
The independent Medical Doctor who made the decision has no affiliation with the
employer, employee, providers or the claims administrator. The physician reviewer is
Board Certified in Occupational Medicine and is licensed to practice in California.
He/she has been in active clinical practice for more than five years and is currently
working at least 24 hours a week in active practice.
Case Summary:
Disclaimer: The following case summary was taken directly from the utilization review
denial/modification dated August 30, 2013.
“The patient is a 44 year-old female with a date of Injury of 8/28/2001. The provider
submitted a request for 28 days of residential functional restoration program. She has
chronic low back pain.”
"""

# The same notice without its table: every date comes from the prose.
MAXIMUS_2013_PROSE = "\n".join(
    line for line in MAXIMUS_2013.splitlines()
    if not line.startswith(("Employee", "Claim Number", "Date of", "IMR Application", "MAXIMUS Case")))

DOCUMENTS_REVIEWED = """Case Number: CM15-0102345 Date Assigned: 06/02/2015
Date of Injury: 03/14/2012 Decision Date: 07/08/2015
UR Denial Date: 05/12/2015 Priority: Standard
Application Received: 05/26/2015
HOW THE IMR FINAL DETERMINATION WAS MADE
MAXIMUS Federal Services sent the complete case file to a physician reviewer. He/she has no
affiliation with the employer, employee, providers or the claims administrator. The physician
reviewer is Board Certified in Orthopedic Surgery and is licensed to practice in Texas, California.
CLINICAL CASE SUMMARY
The expert reviewer developed the following clinical case summary based on a review of the
case file, including all medical records:
The patient is a 57 year old male with chronic right shoulder pain after a fall at work.
DOCUMENTS REVIEWED
Application of Independent Medical Review; Utilization Review Determination dated 05/12/2015;
Medical Treatment Utilization Schedule; Medical records from 01/05/2015 to 05/01/2015.
IMR DECISION(S) AND RATIONALE(S)
The Final Determination was based on decisions for the disputed items/services set forth below:
Right shoulder arthroscopy: Upheld
Claims Administrator guideline: Decision based on ACOEM Shoulder Complaints.
MAXIMUS guideline: Decision based on ACOEM Shoulder Complaints, page 209-210.
Decision rationale: There is no imaging evidence of a surgical lesion. The request for right
shoulder arthroscopy is not medically necessary.
Post-operative physical therapy 12 visits: Upheld
Claims Administrator guideline: Decision based on MTUS Postsurgical Treatment Guidelines.
MAXIMUS guideline: Decision based on MTUS Postsurgical Treatment Guidelines.
Decision rationale: As the surgery is not medically necessary, the post-operative therapy is not
medically necessary either.
"""

PROFESSIONAL_REVIEW = """MEDICAL PROFESSIONAL REVIEW
Case Number: CM18-0054321 Date Assigned: 04/02/2018
Date of Injury: 09/30/2016 Decision Date: 05/01/2018
UR Denial Date: 03/15/2018 Priority: Expedited
Application Received: 03/28/2018
ISSUE AT DISPUTE:
Lumbar epidural steroid injection L4-L5: Overturned
Claims Administrator guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016.
MAXIMUS guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016, Epidural steroid
injections.
Decision rationale: Radiculopathy is documented on examination and corroborated by imaging. The
injection is medically necessary.
CASE SUMMARY:
The injured worker is a 39-year-old man with low back pain radiating to the right leg since a lifting
injury.
DOCUMENTS REVIEWED FOR DETERMINATION:
Utilization review determination dated 03/15/2018; progress reports from 10/2017 to 02/2018.
MEDICAL REVIEWER QUALIFICATIONS:
The expert reviewer is Board Certified in Anesthesiology, has a subspecialty in Pain Medicine and is
licensed to practice in California, Arizona.
"""

# A template the parser does not know.
UNSEEN = """STATE REVIEW BOARD DETERMINATION
Case Number: CM19-0011111
Decision Date: 02/03/2019
QUESTIONS REVIEWED
Cervical traction unit: Upheld
REASONS
The request is not medically necessary.
"""
