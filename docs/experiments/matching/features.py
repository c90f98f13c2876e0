import csv,math,re,collections,unicodedata,sys
import os
exec(open(os.path.join(os.path.dirname(os.path.abspath(__file__)),'load.py')).read())
deps={}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),'../../../internal/taxonomy/data/departements_regions.csv'),encoding='utf-8') as f:
    for row in csv.DictReader(f): deps[row['code_departement']]=row
def reg(d): return deps[d]['code_region'] if d in deps else None
sme_dep={s:sup[s]['departement'] for s in sup}
sme_naf={s:sup[s]['activite_principale'] for s in sup}
def strip(s):
    return ''.join(ch for ch in unicodedata.normalize('NFD',s.lower()) if ord(ch)<128)
STOP=set('de la le les des du et en a au aux pour l d un une sur dans par avec lot n ou the'.split())
def toks(s): return set(t[:6] for t in re.findall(r'[a-z0-9]+',strip(s)) if t not in STOP and len(t)>1)
def cos(a,b):
    if len(a)>len(b): a,b=b,a
    return sum(x*b.get(t,0) for t,x in a.items())
def build(Hs,Qs,tag,out,writer,loo=False):
    N=len(Hs); df=collections.Counter(); bdf=collections.Counter()
    for c in Hs: c['t']=toks(c['obj']); df.update(c['t']); c['bt']=toks(c.get('bname','')); 
    idf=lambda t:math.log(N/(1+df.get(t,0)))
    def vec(ts):
        v={t:idf(t) for t in ts}; n=math.sqrt(sum(x*x for x in v.values())) or 1
        return {t:x/n for t,x in v.items()}
    for c in Hs+Qs: c['v']=vec(toks(c['obj']))
    bdf=collections.Counter()
    for c in Hs: bdf.update(toks(c['bname']))
    def bvec(ts):
        v={t:math.log(N/(1+bdf.get(t,0))) for t in ts}; n=math.sqrt(sum(x*x for x in v.values())) or 1
        return {t:x/n for t,x in v.items()}
    for c in Hs+Qs: c['bv']=bvec(toks(c['bname']))
    bysme=collections.defaultdict(list)
    for c in Hs:
        for w in c['w']: bysme[w].append(c)
    hw=collections.Counter(w for c in Hs for w in c['w'])
    loaded=set(sup)|set(hw)
    def sets(k):
        d=collections.defaultdict(set)
        for c in Hs:
            for w in c['w']: d[c['cpv'][:k]].add(w)
        return d
    G={k:sets(k) for k in (2,3,4)}
    cache={}
    def aff(k,x,y):
        if (k,x,y) not in cache:
            a,b=G[k].get(x,set()),G[k].get(y,set())
            cache[(k,x,y)]=len(a&b)/math.sqrt(len(a)*len(b)) if a and b else 0
        return cache[(k,x,y)]
    depco=collections.defaultdict(collections.Counter)
    for c in Hs:
        for w in c['w']:
            if w in sme_dep: depco[sme_dep[w]][c['dep']]+=1
    # naf affinity: share of contracts won by naf X in group g
    nafg=collections.defaultdict(collections.Counter); naft=collections.Counter()
    for c in Hs:
        for w in c['w']:
            if w in sme_naf: nafg[sme_naf[w]][c['cpv'][:3]]+=1; naft[sme_naf[w]]+=1
    lastdate={}
    for c in Hs:
        for w in c['w']: lastdate[w]=max(lastdate.get(w,''),c['date'])
    bydep=collections.defaultdict(set); byreg=collections.defaultdict(set)
    for s,d in sme_dep.items(): bydep[d].add(s); byreg[reg(d)].add(s)
    idx_div=collections.defaultdict(set); idx_dep=collections.defaultdict(set); idx_buy=collections.defaultdict(set)
    for c in Hs:
        for w in c['w']:
            idx_div[c['cpv'][:2]].add(w); idx_dep[c['dep']].add(w); idx_buy[c['buyer']].add(w)
    L=math.log1p
    for qi,q in enumerate(Qs):
        if not any(w in loaded for w in q['w']): continue
        qk=(q['buyer'],q['obj'].lower(),q['cpv'],tuple(q['w']))
        nrep=sum(1 for c in bysme.get(q['w'][0],[]) if (c['buyer'],c['obj'].lower(),c['cpv'],tuple(c['w']))==qk) if loo else 0
        warm=any(hw[w]-nrep>0 for w in q['w'])
        cand=idx_div[q['cpv'][:2]]|idx_dep[q['dep']]|idx_buy[q['buyer']]|byreg.get(reg(q['dep']),set())
        pq=prefixes(q['cpv']); qr=reg(q['dep'])
        rows=[]
        for s in cand:
            cs=bysme[s]
            if loo and s in q['w']: cs=[c for c in cs if (c['buyer'],c['obj'].lower(),c['cpv'],tuple(c['w']))!=qk]
            f=collections.OrderedDict()
            for i,l in enumerate(LV):
                p=pq[i]
                m=[c for c in cs if p and c['cpv'].startswith(p)] if p else []
                f['l%d'%l]=L(len(m)); f['d%d'%l]=L(sum(1 for c in m if c['dep']==q['dep'])); f['r%d'%l]=L(sum(1 for c in m if reg(c['dep'])==qr))
            f['buyer']=L(sum(1 for c in cs if c['buyer']==q['buyer']))
            f['buyer_cls']=L(sum(1 for c in cs if c['buyer']==q['buyer'] and c['cpv'][:4]==q['cpv'][:4]))
            f['buyer_div']=L(sum(1 for c in cs if c['buyer']==q['buyer'] and c['cpv'][:2]==q['cpv'][:2]))
            sims=[cos(q['v'],c['v']) for c in cs]
            f['maxsim']=max(sims) if sims else 0
            f['sumsim']=L(sum(sims))
            f['buyersim']=max([cos(q['v'],c['v']) for c in cs if c['buyer']==q['buyer']] or [0])
            f['n']=L(len(cs))
            bs=[cos(q['bv'],c['bv']) for c in cs if c['buyer']!=q['buyer']]
            f['bname_max']=max(bs or [0]); f['bname_sum']=L(sum(bs))
            f['bname_div']=max([cos(q['bv'],c['bv']) for c in cs if c['buyer']!=q['buyer'] and c['cpv'][:2]==q['cpv'][:2]] or [0])
            f['dep_any']=L(sum(1 for c in cs if c['dep']==q['dep']))
            f['reg_any']=L(sum(1 for c in cs if reg(c['dep'])==qr))
            sd=sme_dep.get(s)
            f['local']=1 if sd==q['dep'] else 0
            f['localreg']=1 if sd and reg(sd)==qr else 0
            t=sum(depco[sd].values()) if sd else 0
            f['depaff']=depco[sd][q['dep']]/t if t else 0
            f['cf2']=L(sum(aff(2,c['cpv'][:2],q['cpv'][:2]) for c in cs if c['cpv'][:2]!=q['cpv'][:2]))
            f['cf3']=L(sum(aff(3,c['cpv'][:3],q['cpv'][:3]) for c in cs if c['cpv'][:3]!=q['cpv'][:3]))
            f['cf4']=L(sum(aff(4,c['cpv'][:4],q['cpv'][:4]) for c in cs if c['cpv'][:4]!=q['cpv'][:4]))
            f['cf3max']=max([aff(3,c['cpv'][:3],q['cpv'][:3]) for c in cs] or [0])
            nf=sme_naf.get(s)
            f['nafg']=nafg[nf][q['cpv'][:3]]/naft[nf] if nf and naft[nf] else 0
            f['nafg_local']=f['nafg']*f['local']
            f['cold']=1 if not cs else 0
            f['recent']=1 if lastdate.get(s,'')>='%s'%q.get('recentcut','2018-06') else 0
            la=[math.log(c['amt']) for c in cs if c['amt']>0]
            f['amtclose']=max(0,3-min(abs(math.log(q['amt'])-x) for x in la)) if la and q['amt']>0 else 0
            rows.append((s,f))
        if out is None: continue
        sset=tag+('.warm' if warm else '.cold')
        if not rows: rows=[('x',collections.OrderedDict())]
        if not writer[0]:
            writer[0]=True; out.writerow(['qid','set','won']+list(rows[0][1].keys()))
        for s,f in rows:
            if not f: continue
            out.writerow([tag+str(qi),sset,1 if s in q['w'] else 0]+['%.5g'%v for v in f.values()])
        if qi%100==0: print(tag,qi,len(Qs),file=sys.stderr)
w=csv.writer(open('feats_loo.csv' if sys.argv[1:]==['loo'] else 'feats.csv','w'))
st=[False]
import sys
if sys.argv[1:]==['loo']:
    for q in H: q['recentcut']='2000'
    build(H,H,'train',w,st,loo=True)
else:
    c2=int(len(H)*0.7)
    for q in H[c2:]: q['recentcut']=H[c2]['date'][:4]+'-'+'%02d'%max(1,int(H[c2]['date'][5:7] or 6)-6) if H[c2]['date'] else '2018-01'
    build(H[:c2],H[c2:],'train',w,st)
build(H,Q,'test',w,st)
