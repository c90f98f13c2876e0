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
		jobs.Add(reg, &jobs.Func[SireneArgs]{Limit: 6 * time.Hour, Do: func(ctx context.Context) error {
			units, estabs := SireneFiles(cfg.SireneDir)
			rep, err := ImportSirene(ctx, db, units, estabs, nil)
			if err != nil {
				return fmt.Errorf("registers: daily SIRENE import: %w", err)
			}
			log.Info("SIRENE imported", "report", rep.JSON())
			return nil
		}})
		reg.Every(24*time.Hour, func() river.JobArgs { return SireneArgs{} })
	}
	if cfg.DECPURL != "" {
		jobs.Add(reg, &jobs.Func[DECPArgs]{Limit: 3 * time.Hour, Do: func(ctx context.Context) error {
			rep, err := ImportDECP(ctx, db, FileSource(cfg.DECPURL), nil)
			if err != nil {
				return fmt.Errorf("registers: daily DECP import: %w", err)
			}
			log.Info("DECP imported", "report", rep.JSON())
			return nil
		}})
		reg.Every(24*time.Hour, func() river.JobArgs { return DECPArgs{} })
	}
	jobs.Periodic[ProposeArgs](reg, 24*time.Hour, func(ctx context.Context) error {
		_, err := Propose(ctx, db)
		return err
	})
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
