import csv, math, re, collections, unicodedata
csv.field_size_limit(10**9)
import os
D=os.path.join(os.path.dirname(os.path.abspath(__file__)),'../../../internal/platform/refdata/data/')
def contracts(path):
    out=[];seen=set()
    with open(path,encoding='utf-8',errors='replace') as f:
        for row in csv.DictReader(f):
            uid=row['uid']
            if not uid or uid in seen: continue
            seen.add(uid)
            cpv=row['cpv8']
            if len(cpv)!=8 or not cpv.isdigit(): continue
            date=row['date_notification'] or row['date_publication']
            ws=[]
            for i in row['titulaires_ids'].split('|'):
                i=i.replace(' ','')
                if len(i)<9 or not i[:9].isdigit() or i[:9] in ws: continue
                ws.append(i[:9])
            if not ws: continue
            try: amt=float(row['montant'])
            except: amt=0
            out.append(dict(uid=uid,buyer=row['acheteur_siret'][:9],bname=row['acheteur_nom'],obj=' '.join(row['objet'].split()),cpv=cpv,dep=row['lieu_departement'],date=date,w=ws,amt=amt,proc=row['procedure'],nature=row['nature'],dur=row['duree_mois'],forme=row['forme_prix'],idm=row['id_marche']))
    return out
C=contracts(D+'decp_history.csv')
C.sort(key=lambda c:c['date'])
cut=int(len(C)*0.7)
H,Q=C[:cut],C[cut:]
sup={}
with open(D+'sirene_etablissements_decp_suppliers.csv',encoding='utf-8',errors='replace') as f:
    for r in csv.DictReader(f):
        if r['siren'] not in sup: sup[r['siren']]=r
def sig(c):
    c=c.rstrip('0')
    return max(len(c),2)
LV=[2,3,4,5,8]
def prefixes(cpv):
    s=sig(cpv); return [cpv[:l] if l<=s or l==2 else None for l in LV]
