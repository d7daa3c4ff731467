using EfficientFT.Models;
using EfficientFT.Models.SafeTensors;
using EfficientFT.Tensors;

namespace EfficientFT.Peft.Tests;

/// <summary>adapter_config.json files that peft would not have written are refused with the file and the field.</summary>
public sealed class AdapterConfigReaderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("eft-adapter-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory]
    [InlineData("LORA", "\"target_modules\": [\"query\", null]", "target_modules holds a null")]
    [InlineData("LORA", "\"target_modules\": [\"query\"], \"layers_to_transform\": [0, null]", "layers_to_transform holds a null")]
    [InlineData("IA3", "\"target_modules\": [\"key\", \"output.dense\"], \"feedforward_modules\": [null]", "feedforward_modules holds a null")]
    public void ANullListItem_IsRefusedNamingTheFieldAndTheFile(string peftType, string fields, string expected) =>
        Assert.Contains(expected, Refused($"{{\"peft_type\": \"{peftType}\", \"lora_alpha\": 16, {fields}}}"));

    /// <summary>Settings peft has and this reader does not carry out are refused, not dropped.</summary>
    [Theory]
    [InlineData("\"bias\": \"all\"", "bias \"all\"")]
    [InlineData("\"lora_bias\": true", "lora_bias")]
    [InlineData("\"exclude_modules\": [\"layer.0.attention.self.query\"]", "exclude_modules is not supported")]
    [InlineData("\"layers_pattern\": \"encoder\", \"layers_to_transform\": [0]", "layers_pattern \"encoder\"")]
    public void AnUnsupportedSetting_IsRefusedNamingIt(string fields, string expected) =>
        Assert.Contains(expected, Refused($"{{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16, \"target_modules\": [\"query\"], {fields}}}"));

    /// <summary>peft's initialisations combine with use_rslora and use_dora; each combination is one registered method.</summary>
    [Theory]
    [InlineData("\"init_lora_weights\": true", "lora")]
    [InlineData("\"init_lora_weights\": \"gaussian\", \"use_rslora\": true", "rslora")]
    [InlineData("\"use_dora\": true", "dora")]
    [InlineData("\"use_rslora\": true, \"use_dora\": true", "rslora+dora")]
    [InlineData("\"init_lora_weights\": \"pissa\", \"use_dora\": true", "pissa+dora")]
    [InlineData("\"init_lora_weights\": \"pissa_niter_4\", \"use_rslora\": true, \"use_dora\": true", "pissa+rslora+dora")]
    [InlineData("\"init_lora_weights\": \"olora\", \"use_rslora\": true", "olora+rslora")]
    [InlineData("\"init_lora_weights\": \"eva\", \"use_dora\": true", "eva+dora")]
    public void AnInitialisationWithPeftsFlags_ReadsAsTheirCombination(string fields, string method)
    {
        var path = Path.Combine(_dir, "adapter_config.json");
        File.WriteAllText(path, $"{{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16, \"target_modules\": [\"query\"], {fields}}}");
        var options = AdapterConfigReader.Read(path);
        Assert.Equal(method, options.Method);
        Assert.True(PeftMethods.Registry.ContainsKey(options.Method));
    }

    /// <summary>The message with which reading <paramref name="json"/> as adapter_config.json fails; it must name the file.</summary>
    private string Refused(string json)
    {
        var path = Path.Combine(_dir, "adapter_config.json");
        File.WriteAllText(path, json);
        var error = Assert.Throws<InvalidDataException>(() => AdapterConfigReader.Read(path));
        Assert.StartsWith(path + ":", error.Message);
        return error.Message;
    }

    private static string BaseModel => Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", "roberta_cls__base", "base");

    private static System.Text.Json.Nodes.JsonNode SavedConfig(string adapter) =>
        System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(adapter, "adapter_config.json")))!;

    /// <summary>A model with no peft task type (a masked LM) gets "task_type": null, as peft writes; peft refuses "".</summary>
    [Fact]
    public void AnAdapterOfAMaskedLm_HasANullTaskType()
    {
        var fixture = BaseModel;
        var (model, _) = Pretrained.Load(fixture, c => c, architecture: "RobertaForMaskedLM");
        var adapter = Path.Combine(_dir, "adapter");
        PeftModel.Create(model, new PeftOptions { Method = "lora", Targets = TargetSpec.Parse("query,value") }).SaveAdapter(adapter);

        var config = SavedConfig(adapter).AsObject();
        Assert.True(config.ContainsKey("task_type"));
        Assert.Null(config["task_type"]);
    }

    /// <summary>
    /// A pattern restricted to some layers is saved as the full names of the modules it chose, since peft refuses a
    /// regular expression beside layers_to_transform; loading it back adapts the same modules.
    /// </summary>
    [Fact]
    public void APatternInSomeLayers_IsSavedAsTheModulesItChose()
    {
        var fixture = BaseModel;
        var (model, _) = Pretrained.Load(fixture);
        var peft = PeftModel.Create(model, new PeftOptions { Method = "lora", Targets = TargetSpec.Parse("", @".*\.(query|value)", [1]) });
        var adapter = Path.Combine(_dir, "adapter");
        peft.SaveAdapter(adapter);

        var config = SavedConfig(adapter);
        var chosen = peft.Targets.Select(t => t.Path).ToArray();
        Assert.Equal(2, chosen.Length);
        Assert.Equal(chosen, config["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Null(config["layers_to_transform"]);
        var (fresh, _) = Pretrained.Load(fixture);
        Assert.Equal(chosen, PeftModel.LoadAdapter(fresh, adapter).Targets.Select(t => t.Path));
    }

    /// <summary>
    /// RoBERTa's feed-forward output (down) is layer.N.output.dense, and its attention output ends in output.dense too:
    /// "down" adapts only the first, and since the suffix peft matches would take both, the save names them in full.
    /// </summary>
    [Fact]
    public void DownOnRoberta_AdaptsOnlyTheFeedForwardOutput_AndSavesWhatPeftWouldSelect()
    {
        var (model, _) = Pretrained.Load(BaseModel);
        var peft = PeftModel.Create(model, new PeftOptions { Method = "lora", Targets = TargetSpec.Parse("down") });
        var chosen = peft.Targets.Select(t => t.Path).ToArray();
        Assert.NotEmpty(chosen);
        Assert.All(chosen, path => Assert.Matches(@"\.layer\.\d+\.output\.dense$", path));
        var adapter = Path.Combine(_dir, "adapter");
        peft.SaveAdapter(adapter);

        Assert.Equal(chosen, SavedConfig(adapter)["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()));
        var (fresh, _) = Pretrained.Load(BaseModel);
        Assert.Equal(chosen, PeftModel.LoadAdapter(fresh, adapter).Targets.Select(t => t.Path));
    }

    /// <summary>A target name the model lacks ("gate" on RoBERTa) is refused, not dropped while the others train.</summary>
    [Fact]
    public void ATargetTheModelLacks_IsRefusedByName()
    {
        var (model, _) = Pretrained.Load(BaseModel);
        var e = Assert.Throws<ArgumentException>(() => PeftModel.Create(model, new PeftOptions { Method = "lora", Targets = TargetSpec.Parse("q,v,gate") }));
        Assert.Contains("Target gate", e.Message);
        Assert.Contains("query", e.Message);

        // A peft config listing several architectures' spellings loads, as in peft: some of its names match.
        var adapter = Path.Combine(_dir, "adapter");
        PeftModel.Create(model, new PeftOptions { Method = "lora", Targets = TargetSpec.Parse("q,v") }).SaveAdapter(adapter);
        var path = Path.Combine(adapter, "adapter_config.json");
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        config["target_modules"] = new System.Text.Json.Nodes.JsonArray("query", "value", "q_proj", "v_proj");
        File.WriteAllText(path, config.ToJsonString());
        var (fresh, _) = Pretrained.Load(BaseModel);
        Assert.NotEmpty(PeftModel.LoadAdapter(fresh, adapter).Targets);
    }

    /// <summary>Full fine-tuning and GaLore selected by a pattern save the pattern, so their checkpoints load back.</summary>
    [Theory]
    [InlineData("full_ft")]
    [InlineData("galore")]
    public void AMethodOfOurOwnByPattern_SavesThePattern(string method)
    {
        var (model, _) = Pretrained.Load(BaseModel);
        var peft = PeftModel.Create(model, new PeftOptions { Method = method, Targets = TargetSpec.Parse("", @".*\.attention\.self\.key") });
        var adapter = Path.Combine(_dir, "adapter");
        peft.SaveAdapter(adapter);

        Assert.Equal(@".*\.attention\.self\.key", SavedConfig(adapter)["target_modules"]!.GetValue<string>());
        var (fresh, _) = Pretrained.Load(BaseModel);
        Assert.Equal(peft.Targets.Select(t => t.Path), PeftModel.LoadAdapter(fresh, adapter).Targets.Select(t => t.Path));
    }

    /// <summary>
    /// IA³ on k, v and o: o (attention.output.dense) is scaled on its input side, so it must be listed among
    /// feedforward_modules, or peft builds an output-side vector and the saved one does not fit.
    /// </summary>
    [Fact]
    public void Ia3OnTheAttentionOutput_ListsItAsFeedForward()
    {
        var fixture = BaseModel;
        var (model, _) = Pretrained.Load(fixture);
        var adapter = Path.Combine(_dir, "adapter");
        PeftModel.Create(model, new PeftOptions { Method = "ia3", Targets = TargetSpec.Parse("k,v,o") }).SaveAdapter(adapter);

        var config = SavedConfig(adapter);
        var targets = config["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        var feedForward = config["feedforward_modules"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal(["attention.output.dense"], feedForward);
        Assert.Subset(targets.ToHashSet(), feedForward.ToHashSet());
        var (fresh, _) = Pretrained.Load(fixture);
        Assert.Equal(3 * 2, PeftModel.LoadAdapter(fresh, adapter).Trainable.Count(p => p.Kind == "ia3_l"));
    }

    /// <summary>peft's examples name RoBERTa's block list with layers_pattern "layer"; it selects as without it.</summary>
    [Fact]
    public void TheLayerListNamedAsThisModelNamesIt_IsAccepted()
    {
        var path = Path.Combine(_dir, "adapter_config.json");
        File.WriteAllText(path, "{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16, \"target_modules\": [\"query\"], \"layers_pattern\": \"layer\", \"layers_to_transform\": [1]}");
        var targets = AdapterConfigReader.Read(path).Targets;
        Assert.True(targets.Matches("roberta.encoder.layer.1.attention.self.query"));
        Assert.False(targets.Matches("roberta.encoder.layer.0.attention.self.query"));
    }

    /// <summary>IA³ from a pattern in some layers: the feed-forward list names full paths too, a subset of target_modules.</summary>
    [Fact]
    public void Ia3FromAPatternInSomeLayers_ListsItsFeedForwardModulesByPath()
    {
        var fixture = BaseModel;
        var (model, _) = Pretrained.Load(fixture);
        var adapter = Path.Combine(_dir, "adapter");
        PeftModel.Create(model, new PeftOptions { Method = "ia3", Targets = TargetSpec.Parse("", @".*\.(key|output\.dense)", [0]) }).SaveAdapter(adapter);

        var config = SavedConfig(adapter);
        var targets = config["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()).ToHashSet();
        var feedForward = config["feedforward_modules"]!.AsArray().Select(n => n!.GetValue<string>()).ToList();
        Assert.Equal(["roberta.encoder.layer.0.attention.output.dense", "roberta.encoder.layer.0.output.dense"], feedForward);
        Assert.Subset(targets, feedForward.ToHashSet());
        var (fresh, _) = Pretrained.Load(fixture);
        Assert.Equal(3, PeftModel.LoadAdapter(fresh, adapter).Trainable.Count(p => p.Kind == "ia3_l"));
    }

    /// <summary>PiSSA with a randomized SVD keeps its iteration count through a save, as peft names it.</summary>
    [Fact]
    public void PissaWithIterations_SavesItsInitialisationName()
    {
        var fixture = BaseModel;
        var (model, _) = Pretrained.Load(fixture);
        var adapter = Path.Combine(_dir, "adapter");
        PeftModel.Create(model, new PeftOptions { Method = "pissa", Targets = TargetSpec.Parse("query,value"), PissaIterations = 4, Seed = 17 }).SaveAdapter(adapter);

        var path = Path.Combine(adapter, "adapter_config.json");
        Assert.Equal("pissa_niter_4", System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!["init_lora_weights"]!.GetValue<string>());
        Assert.Equal(4, AdapterConfigReader.Read(path).PissaIterations);

        // The randomized SVD drew from seed 17: loading rebuilds the same residual in the base weights, not seed 0's.
        var (fresh, _) = Pretrained.Load(fixture);
        PeftModel.LoadAdapter(fresh, adapter);
        var residual = model.NamedTensors().Where(p => p.Name.EndsWith("query.weight", StringComparison.Ordinal)).ToList();
        var rebuilt = fresh.NamedTensors().Where(p => p.Name.EndsWith("query.weight", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(residual);
        foreach (var ((_, expected), (_, actual)) in residual.Zip(rebuilt)) Assert.Equal(expected.ToArray(), actual.ToArray());
    }

    /// <summary>
    /// peft's adapter with one more trained tensor than its config describes (as modules_to_save on an LM head would
    /// add) does not load as if that tensor were not there.
    /// </summary>
    [Fact]
    public void AnAdapterFileWithATensorTheConfigDoesNotDescribe_IsRefused()
    {
        var fixture = Path.Combine(AppContext.BaseDirectory, "fixtures", "peft", "roberta_cls__lora");
        var adapter = Directory.CreateDirectory(Path.Combine(_dir, "adapter")).FullName;
        File.Copy(Path.Combine(fixture, "adapter_final", "adapter_config.json"), Path.Combine(adapter, "adapter_config.json"));
        var tensors = SafeTensorsFile.LoadAll(Path.Combine(fixture, "adapter_final", "adapter_model.safetensors"));
        tensors["base_model.model.lm_head.weight"] = Tensor.Zeros(4, 4);
        SafeTensorsWriter.Save(Path.Combine(adapter, "adapter_model.safetensors"), tensors);
        var (model, _) = Pretrained.Load(Path.Combine(fixture, "base"));

        var error = Assert.Throws<InvalidDataException>(() => PeftModel.LoadAdapter(model, adapter));
        Assert.Contains("base_model.model.lm_head.weight", error.Message);
    }
}
