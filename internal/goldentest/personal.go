package goldentest

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Lead names and companies for WithOptionalColumns: every lead gets a
// different combination, so that a name or company found in a digest
// names exactly one lead.
var (
	firstNames = []string{"Ana", "Bruno", "Carmen", "Diego", "Eva", "Fernando", "Gloria", "Hugo", "Irene", "Jorge",
		"Kiara", "Luis", "Marta", "Nicolás", "Olga", "Pablo", "Quique", "Rosa", "Sergio", "Teresa"}
	lastNames = []string{"Alonso", "Blanco", "Castro", "Delgado", "Esteban", "Fuentes", "Gil", "Herrera", "Iglesias",
		"Jiménez", "Lozano", "Marín", "Núñez", "Ortega", "Prieto", "Quintana", "Rubio", "Sanz", "Torres", "Ureña",
		"Vidal", "Yuste", "Zamora", "Benítez", "Calvo"}
	companyWords = []string{"Aceros", "Bodegas", "Cerámicas", "Datos", "Energía", "Ferretería", "Granja", "Hoteles",
		"Imprenta", "Joyería", "Kiosko", "Logística", "Muebles", "Náutica", "Óptica", "Papelera", "Química", "Redes",
		"Seguros", "Textil", "Urbana", "Viajes", "Xilema", "Yates", "Zapatos", "Acústica", "Biotec", "Cafés",
		"Drones", "Ecotech"}
	companyPlaces = []string{"del Norte", "del Sur", "de Levante", "del Ebro", "Atlántica", "Mediterránea", "Central",
		"Ibérica", "de la Sierra", "del Valle", "Insular", "Andina", "Costera", "Real", "Nueva"}
)

// CampaignOwners are the owners WithOptionalColumns gives the golden
// campaigns (campaigns.owner_id); c91 has none.
var CampaignOwners = map[string]string{
	"c01": "m001", "c02": "m001", "c03": "m001", "c04": "m002", "c05": "m002",
	"c06": "m002", "c07": "m003", "c08": "m003", "c90": "m001", "c92": "m003",
}

// LeadName and LeadCompany are what WithOptionalColumns gives the i-th
// lead of leads.csv (0-based).
func LeadName(i int) string {
	return firstNames[i%len(firstNames)] + " " + lastNames[(i/len(firstNames))%len(lastNames)]
}

// LeadCompany is the company of the i-th lead (see LeadName).
func LeadCompany(i int) string {
	return companyWords[i%len(companyWords)] + " " + companyPlaces[(i/len(companyWords))%len(companyPlaces)]
}

// WithOptionalColumns writes a copy of the golden data set (dir/data) into a
// temporary directory with the optional source columns filled in: every
// lead a name and a company (unique), every campaign but c91 an owner
// among the marketing team. It returns the directory to import.
func WithOptionalColumns(t testing.TB, dir string) string {
	t.Helper()
	out := t.TempDir()
	for _, name := range []string{"team_members", "activities", "opportunities", "leads", "campaigns"} {
		rows := readCSV(t, filepath.Join(dir, "data", name+".csv"))
		switch name {
		case "leads":
			rows[0] = append(rows[0], "name", "company")
			for i := 1; i < len(rows); i++ {
				rows[i] = append(rows[i], LeadName(i-1), LeadCompany(i-1))
			}
		case "campaigns":
			rows[0] = append(rows[0], "owner_id")
			for i := 1; i < len(rows); i++ {
				rows[i] = append(rows[i], CampaignOwners[rows[i][0]])
			}
		}
		writeCSV(t, filepath.Join(out, name+".csv"), rows)
	}
	return out
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func writeCSV(t testing.TB, path string, rows [][]string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(fmt.Errorf("%s: %w", path, err))
	}
}
