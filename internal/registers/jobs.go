package registers

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"

	"passerelle/internal/platform/jobs"
)

// Config names where the daily imports read the registers; an empty
// field turns its import off.
type Config struct {
	SireneDir string // folder or URL prefix holding StockUniteLegale_utf8 and StockEtablissement_utf8 (.zip or .csv)
	DECPURL   string // path or URL of the consolidated DECP
}

// SireneArgs is the daily SIRENE import; DECPArgs the DECP's;
// ProposeArgs proposes newly found public contracts to member SMEs.
type (
	SireneArgs  struct{}
	DECPArgs    struct{}
	ProposeArgs struct{}
)

func (SireneArgs) Kind() string  { return "registers.import_sirene" }
func (DECPArgs) Kind() string    { return "registers.import_decp" }
func (ProposeArgs) Kind() string { return "registers.propose_contracts" }

// One run a day whatever the number of servers: River keeps one job of a
// kind per period; the import's advisory lock serialises a manual run.
func (SireneArgs) InsertOpts() river.InsertOpts  { return daily() }
func (DECPArgs) InsertOpts() river.InsertOpts    { return daily() }
func (ProposeArgs) InsertOpts() river.InsertOpts { return daily() }

func daily() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 3, UniqueOpts: river.UniqueOpts{ByPeriod: 24 * time.Hour}}
}

// Register adds the registers' jobs: the daily imports named in cfg, and
// the daily proposals of new contracts.
func Register(reg *jobs.Registry, db *pgxpool.Pool, cfg Config, log *slog.Logger) {
	if cfg.SireneDir != "" {
		jobs.Add(reg, &sireneWorker{db: db, dir: cfg.SireneDir, log: log})
		reg.Every(24*time.Hour, func() river.JobArgs { return SireneArgs{} })
	}
	if cfg.DECPURL != "" {
		jobs.Add(reg, &decpWorker{db: db, url: cfg.DECPURL, log: log})
		reg.Every(24*time.Hour, func() river.JobArgs { return DECPArgs{} })
	}
	jobs.Add(reg, &proposeWorker{db: db})
	reg.Every(24*time.Hour, func() river.JobArgs { return ProposeArgs{} })
}

type sireneWorker struct {
	river.WorkerDefaults[SireneArgs]
	db  *pgxpool.Pool
	dir string
	log *slog.Logger
}

func (w *sireneWorker) Timeout(*river.Job[SireneArgs]) time.Duration { return 6 * time.Hour }

func (w *sireneWorker) Work(ctx context.Context, _ *river.Job[SireneArgs]) error {
	units, estabs := SireneFiles(w.dir)
	rep, err := ImportSirene(ctx, w.db, units, estabs, nil)
	if err != nil {
		return fmt.Errorf("registers: daily SIRENE import: %w", err)
	}
	w.log.Info("SIRENE imported", "report", rep.JSON())
	return nil
}

// SireneFiles names the stock files in dir: the zipped ones INSEE
// publishes, or their CSV when that is what the folder holds.
func SireneFiles(dir string) (units, establishments Source) {
	pick := func(base string) Source {
		if !strings.Contains(dir, "://") {
			for _, ext := range []string{".zip", ".csv"} {
				if _, err := os.Stat(filepath.Join(dir, base+ext)); err == nil {
					return FileSource(filepath.Join(dir, base+ext))
				}
			}
			return FileSource(filepath.Join(dir, base+".zip"))
		}
		return FileSource(strings.TrimSuffix(dir, "/") + "/" + base + ".zip")
	}
	return pick("StockUniteLegale_utf8"), pick("StockEtablissement_utf8")
}

type decpWorker struct {
	river.WorkerDefaults[DECPArgs]
	db  *pgxpool.Pool
	url string
	log *slog.Logger
}

func (w *decpWorker) Timeout(*river.Job[DECPArgs]) time.Duration { return 3 * time.Hour }

func (w *decpWorker) Work(ctx context.Context, _ *river.Job[DECPArgs]) error {
	rep, err := ImportDECP(ctx, w.db, FileSource(w.url), nil)
	if err != nil {
		return fmt.Errorf("registers: daily DECP import: %w", err)
	}
	w.log.Info("DECP imported", "report", rep.JSON())
	return nil
}

type proposeWorker struct {
	river.WorkerDefaults[ProposeArgs]
	db *pgxpool.Pool
}

func (w *proposeWorker) Work(ctx context.Context, _ *river.Job[ProposeArgs]) error {
	_, err := Propose(ctx, w.db)
	return err
}

// Propose records, for every member SME, the public contracts won by its
// SIREN (any of its establishments) that are neither among its references
// nor proposed before. Nothing becomes a reference here: the SME sees the
// proposals on its profile and picks which to import.
func Propose(ctx context.Context, db *pgxpool.Pool) (int64, error) {
	tag, err := db.Exec(ctx, `INSERT INTO contract_proposals (organisation_id, buyer_id, id)
		SELECT DISTINCT o.id, w.buyer_id, w.id FROM organisations o JOIN decp_winners w ON w.siren = o.siren
		WHERE o.status = 'member' AND o.kind IN ('pme', 'eti')
		  AND NOT EXISTS (SELECT 1 FROM org_references r WHERE r.organisation_id = o.id AND r.source_uid = w.buyer_id || w.id)
		ON CONFLICT DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("registers: propose contracts: %w", err)
	}
	return tag.RowsAffected(), nil
}

// ImportSample loads the shipped sample through the same imports a
// deployment runs on the national files (what `make run` does when no
// register is configured). A second run writes nothing.
func ImportSample(ctx context.Context, db *pgxpool.Pool) (sirene, decp Report, err error) {
	units, estabs, contracts, err := Sample()
	if err != nil {
		return sirene, decp, err
	}
	if sirene, err = ImportSirene(ctx, db, units, estabs, nil); err != nil {
		return sirene, decp, err
	}
	decp, err = ImportDECP(ctx, db, contracts, nil)
	return sirene, decp, err
}
