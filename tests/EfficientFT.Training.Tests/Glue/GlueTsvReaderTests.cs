using EfficientFT.Training.Data;

namespace EfficientFT.Training.Tests.Glue;

/// <summary>Lines in the exact layouts of the original GLUE files (download_glue_data.py), one test per task.</summary>
public sealed class GlueTsvReaderTests : IDisposable
{
    private readonly GlueTempFiles _files = new();

    public void Dispose() => _files.Dispose();

    private IReadOnlyList<TextExample> Read(GlueTask task, params string[] lines) =>
        GlueTsvReader.Read(task, _files.Write($"{task.Name}.tsv", string.Join("\n", lines) + "\n"));

    [Fact]
    public void Cola_HasNoHeader_AndTheSentenceLast()
    {
        var examples = Read(GlueTasks.Cola,
            "gj04\t1\t\tOur friends won't buy this analysis, let alone the next one we propose.",
            "gj04\t0\t*\tThey drank the pub.");

        Assert.Equal(
            [new TextExample("Our friends won't buy this analysis, let alone the next one we propose.", null, 1),
             new TextExample("They drank the pub.", null, 0)],
            examples);
    }

    [Fact]
    public void Sst2()
    {
        var examples = Read(GlueTasks.Sst2, "sentence\tlabel", "it 's a charming and often affecting journey . \t1", "unflinchingly bleak and desperate \t0");
        Assert.Equal([new TextExample("it 's a charming and often affecting journey . ", null, 1), new TextExample("unflinchingly bleak and desperate ", null, 0)], examples);
    }

    [Fact]
    public void Mrpc_KeepsQuotesAsText()
    {
        var examples = Read(GlueTasks.Mrpc,
            "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String",
            "1\t702876\t702977\tAmrozi accused his brother , whom he called \" the witness \" , of deliberately distorting his evidence .\tReferring to him as only \" the witness \" , Amrozi accused his brother of deliberately distorting his evidence .",
            "0\t2108705\t2108831\tYucaipa owned Dominick 's before selling the chain to Safeway in 1998 for $ 2.5 billion .\tYucaipa bought Dominick 's in 1995 for $ 693 million and sold it to Safeway for $ 1.8 billion in 1998 .");

        Assert.Equal(2, examples.Count);
        Assert.Equal("Amrozi accused his brother , whom he called \" the witness \" , of deliberately distorting his evidence .", examples[0].First);
        Assert.StartsWith("Referring to him", examples[0].Second);
        Assert.Equal(1, examples[0].Label);
        Assert.Equal(0, examples[1].Label);
    }

    [Fact]
    public void Stsb_FindsItsColumnsByHeader()
    {
        var examples = Read(GlueTasks.Stsb,
            "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore",
            "0\tmain-captions\tMSRvid\t2012test\t0001\tnone\tnone\tA plane is taking off.\tAn air plane is taking off.\t5.000",
            "1\tmain-captions\tMSRvid\t2012test\t0004\tnone\tnone\tA man is playing a large flute.\tA man is playing a flute.\t3.800");

        Assert.Equal(
            [new TextExample("A plane is taking off.", "An air plane is taking off.", 5.0f),
             new TextExample("A man is playing a large flute.", "A man is playing a flute.", 3.8f)],
            examples);
    }

    [Fact]
    public void Qqp()
    {
        var examples = Read(GlueTasks.Qqp,
            "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate",
            "133273\t213221\t213222\tHow is the life of a math student? Could you describe your own experiences?\tWhich level of prepration is enough for the exam jlpt5?\t0",
            "402555\t536040\t536041\tHow do I control my horny emotions?\tHow do you control your horniness?\t1");

        Assert.Equal(new TextExample("How do I control my horny emotions?", "How do you control your horniness?", 1), examples[1]);
        Assert.Equal(0, examples[0].Label);
    }

    [Fact]
    public void Mnli_DevLayout_UsesGoldLabelNames()
    {
        var examples = Read(GlueTasks.Mnli,
            "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\tlabel5\tgold_label",
            "0\t63735\t63735n\tslate\t( ( The ... ) )\t( ( The ... ) )\t(ROOT ...)\t(ROOT ...)\tThe new rights are nice enough\tEveryone really likes the newest benefits \tneutral\tentailment\tneutral\tneutral\tneutral\tneutral",
            "1\t91383\t91383c\tgovernment\t( ... )\t( ... )\t(ROOT ...)\t(ROOT ...)\tThis site includes a list of all award winners.\tThe Government Executive articles housed on the website are not able to be searched.\tcontradiction\tcontradiction\tcontradiction\tcontradiction\tcontradiction\tcontradiction");

        Assert.Equal(new TextExample("The new rights are nice enough", "Everyone really likes the newest benefits ", 1), examples[0]);
        Assert.Equal(2, examples[1].Label);
    }

    [Fact]
    public void Mnli_TrainLayout_HasOneAnnotatorColumn()
    {
        var examples = Read(GlueTasks.Mnli,
            "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label",
            "0\t31193\t31193n\tgovernment\t( ... )\t( ... )\t(ROOT ...)\t(ROOT ...)\tConceptually cream skimming has two basic dimensions - product and geography.\tProduct and geography are what make cream skimming work. \tneutral\tneutral",
            "1\t101457\t101457e\ttelephone\t( ... )\t( ... )\t(ROOT ...)\t(ROOT ...)\tyou know during the season and i guess at at your level uh you lose them to the next level\tYou lose the things to the following level if the people recall.\tentailment\tentailment");

        Assert.Equal([1f, 0f], examples.Select(e => e.Label));
    }

    [Fact]
    public void Qnli_And_Rte_MapTextLabels()
    {
        var qnli = Read(GlueTasks.Qnli,
            "index\tquestion\tsentence\tlabel",
            "0\tWhat came into force after the new constitution was herald?\tAs of that day, the new constitution heralding the Second Republic came into force.\tentailment",
            "1\tWhat is the first major city in the stream of the Rhine?\tThe most important tributaries in this area are the Ill below of Strasbourg.\tnot_entailment");
        Assert.Equal(new TextExample("What came into force after the new constitution was herald?", "As of that day, the new constitution heralding the Second Republic came into force.", 0), qnli[0]);
        Assert.Equal(1, qnli[1].Label);

        var rte = Read(GlueTasks.Rte,
            "index\tsentence1\tsentence2\tlabel",
            "0\tDana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44.\tChristopher Reeve had an accident.\tnot_entailment");
        Assert.Equal(new TextExample("Dana Reeve, the widow of the actor Christopher Reeve, has died of lung cancer at age 44.", "Christopher Reeve had an accident.", 1), rte[0]);
    }

    [Fact]
    public void WrongColumnCount_NamesFileAndLine()
    {
        var error = Assert.Throws<InvalidDataException>(() => Read(GlueTasks.Rte, "index\tsentence1\tsentence2\tlabel", "0\ta\tb\tentailment", "1\ta\tentailment"));
        Assert.Contains("rte.tsv:3:", error.Message);
        Assert.Contains("3 columns", error.Message);
    }

    [Fact]
    public void BadLabel_NamesFileAndLine()
    {
        var error = Assert.Throws<InvalidDataException>(() => Read(GlueTasks.Qnli, "index\tquestion\tsentence\tlabel", "0\tq\ts\tmaybe"));
        Assert.Contains("qnli.tsv:2:", error.Message);
        Assert.Contains("'maybe'", error.Message);

        Assert.Throws<InvalidDataException>(() => Read(GlueTasks.Sst2, "sentence\tlabel", "fine\t2"));
        Assert.Throws<InvalidDataException>(() => Read(GlueTasks.Stsb, "sentence1\tsentence2\tscore", "a\tb\thigh"));
    }

    [Fact]
    public void MissingColumn_NamesFileAndHeaderLine()
    {
        var error = Assert.Throws<InvalidDataException>(() => Read(GlueTasks.Sst2, "text\tlabel", "fine\t1"));
        Assert.Contains("sst2.tsv:1:", error.Message);
        Assert.Contains("'sentence'", error.Message);
    }
}
